// No heap allocation on the sync success path, nor on a retry path without a timeline.
// This executable replaces the global operator new with a counting one.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <new>
#include <stdexcept>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

namespace {
std::atomic<long> g_allocations{0};
}

// Every replaceable form is replaced, so memory is always released by the allocator that
// gave it (AddressSanitizer checks that pairing).
void* operator new(std::size_t n) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return operator new(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    return std::malloc(n == 0 ? 1 : n);
}
void* operator new[](std::size_t n, const std::nothrow_t& t) noexcept { return operator new(n, t); }
void* operator new(std::size_t n, std::align_val_t a) {
    g_allocations.fetch_add(1, std::memory_order_relaxed);
    const auto align = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(align, (n + align - 1) / align * align)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return operator new(n, a); }
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
    try {
        return operator new(n, a);
    } catch (...) {
        return nullptr;
    }
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t& t) noexcept { return operator new(n, a, t); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

using namespace std::chrono_literals;

namespace {

template <class F>
long allocations_during(F&& f) {
    const long before = g_allocations.load();
    f();
    return g_allocations.load() - before;
}

// Standard exception types with a message allocate that message themselves; this one does
// not, so any allocation counted below is the library's.
struct Unavailable : std::exception {
    const char* what() const noexcept override { return "503 unavailable"; }
};

struct Flaky {
    int* calls;
    int failures;
    int operator()() const {
        if ((*calls)++ < failures) throw Unavailable();
        return 1;
    }
};

}  // namespace

TEST_CASE("the counting operator new sees allocations (the test can fail)") {
    CHECK(allocations_during([] { delete new int(3); }) == 1);
}

TEST_CASE("call() and execute() allocate nothing on the success path") {
    redress::Policy policy{redress::Retry{.strategy = redress::decorrelated_jitter({.max = 1s})}};
    int calls = 0;
    (void)policy.call(Flaky{&calls, 0});  // warm-up: thread-local engines, lazy statics
    CHECK(allocations_during([&] { CHECK(policy.call([] { return 5; }) == 5); }) == 0);
    CHECK(allocations_during([&] { CHECK(policy.execute([] { return 5; }).ok); }) == 0);
    CHECK(allocations_during([&] { policy.call([] {}); }) == 0);
}

TEST_CASE("call() and execute() allocate nothing on a retry path without a timeline") {
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries}};
    int calls = 0;
    (void)policy.call(Flaky{&calls, 2});
    calls = 0;
    CHECK(allocations_during([&] { CHECK(policy.call(Flaky{&calls, 2}) == 1); }) == 0);
    CHECK(calls == 3);
    calls = 0;
    CHECK(allocations_during([&] { CHECK(policy.execute(Flaky{&calls, 2}).attempts == 3); }) == 0);
}

TEST_CASE("a policy with a circuit breaker allocates nothing per call either") {
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries}, redress::CircuitBreaker{}};
    int calls = 0;
    (void)policy.call(Flaky{&calls, 1});
    calls = 0;
    CHECK(allocations_during([&] { CHECK(policy.call(Flaky{&calls, 1}) == 1); }) == 0);
    CHECK(allocations_during([&] { CHECK(policy.call([] { return 2; }) == 2); }) == 0);
}

TEST_CASE("tags on the policy and on the call allocate nothing: building, merging, delivering") {
    long seen = 0;
    const redress::EventHook count = [&seen](const redress::Event& e) { seen += static_cast<long>(e.tags.size()); };
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries,
                                          .on_metric = count,
                                          .tags = {{"service", "billing"}, {"region", "eu-west-1"}}}};
    int calls = 0;
    (void)policy.call(Flaky{&calls, 2});
    calls = 0;
    seen = 0;
    CHECK(allocations_during([&] {
              const redress::CallOptions options{.operation = "charge",
                                                 .tags = {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
                                                          {"tenant", "acme"},
                                                          {"region", "us-east-1"}}};
              CHECK(policy.call(Flaky{&calls, 2}, options) == 1);
          }) == 0);
    CHECK(seen == 3 * 4);  // three events (retry, retry, success), four merged tags each
}

namespace {
struct FlakyTask {
    int* calls;
    int failures;
    redress::Task<int> operator()() const {
        if ((*calls)++ < failures) throw Unavailable();
        co_return 1;
    }
};
}  // namespace

TEST_CASE("the coroutine path allocates its coroutine frames and nothing else") {
    redress::Policy policy{redress::Retry{.strategy = redress::testing::instant_retries}};
    const redress::CallOptions options{.sleeper = [](redress::Duration) {}};
    int calls = 0;
    (void)redress::sync_wait(policy.async_execute(FlakyTask{&calls, 2}, options));
    // The driver's frame plus one frame per attempt of the operation.
    calls = 0;
    CHECK(allocations_during([&] { CHECK(redress::sync_wait(policy.async_call(FlakyTask{&calls, 0})) == 1); }) == 2);
    calls = 0;
    CHECK(allocations_during([&] { CHECK(redress::sync_wait(policy.async_execute(FlakyTask{&calls, 2}, options)).ok); }) ==
          1 + 3);
}
