// expect: a strategy must be callable as
// A callable that returns an int (not a duration) is not a strategy: wrapping it in
// AnyStrategy (as Retry's per-class table and RetryConfig do) must fail with the message
// that names both accepted forms.
#include <redress/strategies.hpp>

namespace {
struct ReturnsInt {
    int operator()(const redress::BackoffContext& ctx) const { return ctx.attempt; }
};
}  // namespace

redress::AnyStrategy make() { return ReturnsInt{}; }
