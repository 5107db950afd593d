// expect: redress::retry: a coroutine function must take its arguments by value or by reference to const
// A lazy coroutine with a T&& parameter would refer to an argument that is gone when it runs.
#include <string>

#include <redress/redress.hpp>

redress::Task<int> send(std::string&& body) { co_return static_cast<int>(body.size()); }

void run() {
    auto retrying = redress::retry(send);
    retrying(std::string("payload"));
}
