// Uses redress::asio: the target must bring standalone Asio (include path, ASIO_STANDALONE,
// coroutine support, threads) so that <redress/asio.hpp> compiles with g++ and clang++.
#include <redress/asio.hpp>

#include <asio/io_context.hpp>
#include <asio/post.hpp>

#include <iostream>

#ifndef ASIO_STANDALONE
#error "redress::asio must define ASIO_STANDALONE"
#endif

int main() {
    asio::io_context io;
    bool ran = false;
    asio::post(io, [&] { ran = true; });
    io.run();
    std::cout << "consumer_asio: handler " << (ran ? "ran" : "did NOT run") << ", "
              << redress::ErrorClass::ServerError << '\n';
    return ran ? 0 : 1;
}
