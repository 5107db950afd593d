// The storm simulator (docs/simulation.md): runs your real policy — the same Policy, Retry,
// strategies, Budget and CircuitBreaker you ship — against a modelled downstream in virtual
// time, and reports what it did: amplification, success, latency, load, recovery.
//
//   auto result = redress::simulation::simulate(redress::simulation::scenario("overload"),
//       [](const redress::testing::ManualClock& clock) { return redress::Policy{...}; });
#pragma once

#include <coroutine>
#include <cstdint>
#include <exception>
#include <functional>
#include <stop_token>
#include <string>
#include <utility>

#include <redress/policy.hpp>
#include <redress/simulation/downstream.hpp>
#include <redress/simulation/event_loop.hpp>
#include <redress/simulation/random.hpp>
#include <redress/simulation/recorder.hpp>
#include <redress/simulation/report.hpp>
#include <redress/simulation/scenario.hpp>
#include <redress/testing/manual_clock.hpp>

namespace redress::simulation {

/// How to run one simulation.
struct RunOptions {
    /// The seed of every draw: arrivals, service times, faults and the policy's jitter.
    std::uint64_t seed = 1;
    /// The policy's name in the report.
    std::string name = "policy";
    /// Called once per simulated second of arrivals with (now, duration): for progress bars.
    std::function<void(Duration, Duration)> on_progress{};
};

namespace detail {

/// The clients of one run, as coroutines on the loop. Each request is
/// `policy.async_execute(attempt)`: the policy's own attempt loop decides every retry and,
/// for a policy with a `Hedge`, every hedge (its delay waits on the loop's sleeper, its
/// losers' stop tokens end their wait: `Downstream::BasicAttempt`).
template <class PolicyT>
class Clients {
public:
    Clients(const Scenario& s, const PolicyT& policy, EventLoop& loop, Random& rng, Recorder& rec,
            Downstream& downstream, const RunOptions& options)
        : s_(s), policy_(policy), loop_(loop), rng_(rng), rec_(rec), downstream_(downstream), options_(options),
          origin_(loop.now()), hooks_{.sleeper = loop.sleeper()} {}

    void start() {
        if (s_.open_loop()) {
            loop_.spawn(arrivals(this));
        } else {
            for (int i = 0; i < s_.clients; ++i) loop_.spawn(client(this));
        }
        if (options_.on_progress) loop_.spawn(progress(this));
    }

private:
    /// Failures come back as `Response` values when the policy's result classifier takes one
    /// (`response_classifier`): no exception per failed attempt.
    static constexpr bool returns_responses = ResultClassifier<
        typename std::remove_cvref_t<decltype(std::declval<const PolicyT&>().retry_settings())>::result_classifier_type,
        Response>;

    [[nodiscard]] Duration elapsed() const { return loop_.now() - origin_; }

    /// The driver's sleep hooks for a policy without a `Hedge`: each backoff waits on a timer
    /// of the loop that resumes the driver itself, where `AsyncSleepHooks<Task>::sleeper` (a
    /// `std::function` returning a `Task` that sleeps) costs a call, a frame and two coroutine
    /// switches more per retry (a tenth of the storm benchmark's instructions).
    struct LoopSleepHooks {
        struct Sleeper {
            EventLoop* loop;
            explicit operator bool() const noexcept { return true; }
            [[nodiscard]] auto operator()(Duration d) const { return loop->sleep(d); }
        };
        Sleeper sleeper;
        redress::detail::AbsentAsyncHook<std::suspend_never> before_sleep{};
        redress::detail::AbsentAsyncHook<redress::detail::SleepAsPlanned> sleep{};
    };

    /// One request: its start and outcome recorded around `call()`.
    static Task<void> request(Clients* self) {
        const TimePoint start = self->request_started();
        auto call = self->call();
        co_await Finished<decltype(call)>{call.handle()};
        self->request_ended(start, outcome_of(call));
    }

    /// Runs a task to its end, leaving its result in its frame: read there (`outcome_of`), an
    /// outcome (128 bytes) is neither moved nor kept in the frame of each request waiting.
    template <class TaskT>
    struct Finished {
        std::coroutine_handle<typename TaskT::promise_type> h;
        bool await_ready() const noexcept { return h.done(); }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) const noexcept {
            h.promise().continuation = awaiting;
            return h;
        }
        void await_resume() const noexcept {}
    };

    /// The result of a finished task, in place; rethrows what the task threw.
    template <class TaskT>
    static const typename TaskT::value_type& outcome_of(const TaskT& task) {
        const auto& promise = task.handle().promise();
        if (promise.error) std::rethrow_exception(promise.error);
        return *promise.value;
    }

    [[nodiscard]] TimePoint request_started() {
        const TimePoint start = loop_.now();
        rec_.request_started(start - origin_);
        return start;
    }

    template <class O>
    void request_ended(TimePoint start, const O& out) {
        const TimePoint end = loop_.now();
        rec_.request_ended(end - origin_, end - start, out.ok, out.stop_reason, out.attempts);
    }

    /// The policy's coroutine for one request, not started: `policy.async_execute(attempt)`.
    [[nodiscard]] auto call() {
        Downstream* ds = &downstream_;
        auto attempt = [ds](std::stop_token token) {
            if constexpr (returns_responses) {
                return ds->respond(std::move(token));
            } else {
                return ds->call(std::move(token));
            }
        };
        if constexpr (!PolicyT::has_hedge) {
            // `async_execute(attempt)` as its driver runs it when the options set nothing,
            // without building, moving and checking an 840-byte empty `CallOptions` (7 % of
            // the storm benchmark's instructions), and with the loop's own sleeper.
            using F = decltype(attempt);
            return redress::detail::async_run_with<redress::detail::async_traits_t<F>,
                                                   redress::detail::async_result_t<F>, false>(
                policy_, std::move(attempt), redress::detail::NoCallOptions{}, LoopSleepHooks{{&loop_}}, true);
        } else {
            return policy_.async_execute(std::move(attempt), call_options(), hooks_);
        }
    }

    /// Hedges are counted from their events; a policy without a `Hedge` pays for no hook.
    [[nodiscard]] CallOptions call_options() const {
        if constexpr (!PolicyT::has_hedge) {
            return {};
        } else {
            return {.on_metric = [rec = &rec_](const Event& e) {
                if (e.name == EventName::HedgeSent) rec->hedge_sent();
                if (e.name == EventName::HedgeSkipped) rec->hedge_skipped(e.state.has_value());
            }};
        }
    }

    /// Open loop: Poisson arrivals at `request_rate`, each request on its own coroutine.
    static Task<void> arrivals(Clients* self) {
        const Duration mean_gap{static_cast<Duration::rep>(1e9 / self->s_.request_rate)};
        for (;;) {
            const Duration gap = self->rng_.exponential(mean_gap);
            if (self->elapsed() + gap >= self->s_.duration) co_return;
            co_await self->loop_.sleep(gap);
            self->loop_.spawn(request(self));
        }
    }

    /// Closed loop: one client sends, waits for the outcome, thinks, and sends again.
    static Task<void> client(Clients* self) {
        const Scenario& s = self->s_;
        // Clients start spread over one think time, not in lockstep (unless it is zero).
        if (s.think_time > Duration::zero())
            co_await self->loop_.sleep(Duration{static_cast<Duration::rep>(self->rng_.uniform01() *
                                                                           static_cast<double>(s.think_time.count()))});
        for (int sent = 0; s.requests_per_client == 0 || sent < s.requests_per_client; ++sent) {
            if (sent > 0 && s.think_time > Duration::zero()) co_await self->loop_.sleep(self->rng_.exponential(s.think_time));
            if (self->elapsed() >= s.duration) co_return;
            // The request runs in this frame, not in a `request` coroutine of its own: one frame
            // fewer per client waiting (10,000 of them) and per request.
            const TimePoint start = self->request_started();
            auto call = self->call();
            co_await Finished<decltype(call)>{call.handle()};
            self->request_ended(start, outcome_of(call));
        }
    }

    static Task<void> progress(Clients* self) {
        while (self->elapsed() < self->s_.duration) {
            self->options_.on_progress(self->elapsed(), self->s_.duration);
            co_await self->loop_.sleep(std::chrono::seconds(1));
        }
        self->options_.on_progress(self->s_.duration, self->s_.duration);
    }

    const Scenario& s_;
    const PolicyT& policy_;
    EventLoop& loop_;
    Random& rng_;
    Recorder& rec_;
    Downstream& downstream_;
    const RunOptions& options_;
    TimePoint origin_;
    AsyncSleepHooks<Task> hooks_;
};

}  // namespace detail

/// Runs `scenario` with the policy `make_policy(clock)` returns, in virtual time, and
/// reports what happened. Build the policy, its `Budget`, `CircuitBreaker` and adaptive
/// strategies on `clock` (a `testing::ManualClock` the simulation advances): otherwise they
/// measure real time and the run means nothing. Deterministic: the same scenario, policy and
/// seed give the same result, on any standard library. Reseeds the calling thread's jitter
/// engine (`redress::seed_random`). Throws `InvalidOption` naming an invalid scenario option.
/// Cost: about 1 µs per simulated attempt when failures are returned as `Response` values,
/// several times that when they are thrown (docs/simulation.md, Performance); memory follows
/// the requests in flight (see `Result::loop`), plus one `Interval` per interval of the series.
template <class Factory>
[[nodiscard]] Result simulate(const Scenario& scenario, Factory&& make_policy, const RunOptions& options = {}) {
    scenario.validate();
    // Every request's frames (its driver's, its own, one per backoff sleep) are reused, warm,
    // from this pool instead of malloc and free.
    redress::detail::FramePool frames;
    const redress::detail::FramePoolScope use_frames(frames);
    testing::ManualClock clock;
    const auto policy = std::forward<Factory>(make_policy)(clock);
    Random rng(options.seed);
    seed_random(rng.next_seed());
    EventLoop loop(clock);
    Recorder recorder(scenario);
    Downstream downstream(scenario, loop, rng, recorder, clock.now());
    detail::Clients<std::remove_cvref_t<decltype(policy)>> clients(scenario, policy, loop, rng, recorder, downstream,
                                                                     options);
    clients.start();
    loop.run();
    Result result = recorder.finish(scenario, loop.counters());
    result.policy = options.name;
    result.hedged = std::remove_cvref_t<decltype(policy)>::has_hedge;
    return result;
}

}  // namespace redress::simulation
