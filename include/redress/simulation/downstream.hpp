// Downstream: the modelled service one attempt calls. A FIFO multi-server queue (computed
// exactly at arrival), the fault of the scenario, the client's timeout, and the shared row
// of the optimistic-concurrency case. A failure reaches the policy either as the library's own
// error types, thrown, so the default classifier (or yours) classifies them as it would in
// production; or, for a policy whose `result_classifier` takes a `Response`, as a returned
// `Response` that `response_classifier` classifies the same way, without an exception.
#pragma once

#include <algorithm>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <stop_token>
#include <utility>
#include <vector>

#include <redress/classification.hpp>
#include <redress/classify.hpp>
#include <redress/errors.hpp>
#include <redress/task.hpp>
#include <redress/simulation/event_loop.hpp>
#include <redress/simulation/random.hpp>
#include <redress/simulation/recorder.hpp>
#include <redress/simulation/scenario.hpp>

namespace redress::simulation {

/// A 429 that carries the downstream's Retry-After. `default_classifier` sees a
/// `RateLimitError`; `retry_after_classifier` also passes the hint on to `retry_after_or`.
class RateLimited : public RateLimitError {
public:
    /// A 429 asking the client to wait `retry_after`.
    explicit RateLimited(Duration retry_after) : RateLimitError("429 Too Many Requests"), retry_after_(retry_after) {}
    /// The Retry-After the downstream answered with.
    [[nodiscard]] Duration retry_after() const noexcept { return retry_after_; }

private:
    Duration retry_after_;
};

/// A classifier for the simulated downstream: `default_classifier`, plus the Retry-After of
/// a `RateLimited` answer (what an HTTP classifier does with the header).
struct RetryAfterClassifier {
    /// `RateLimit` with the hint for a `RateLimited`; `default_classifier` for the rest.
    [[nodiscard]] Classification operator()(const std::exception_ptr& error) const {
        try {
            std::rethrow_exception(error);
        } catch (const RateLimited& e) {
            return Classification{ErrorClass::RateLimit, e.retry_after()};
        } catch (...) {
            return default_classifier(error);
        }
    }
};
/// `.classifier = redress::simulation::retry_after_classifier`.
inline constexpr RetryAfterClassifier retry_after_classifier{};

/// What an attempt hears back.
enum class Answer { Ok, Unavailable, Overloaded, Limited, TimedOut, Conflict };

/// One attempt's answer as a value, as an HTTP client returns a status instead of throwing:
/// what a policy with `.result_classifier = redress::simulation::response_classifier` gets.
struct Response {
    /// What the downstream answered.
    Answer answer = Answer::Ok;
    /// The Retry-After of a `Limited` answer.
    Duration retry_after{};
    /// True for `Answer::Ok`.
    [[nodiscard]] bool ok() const noexcept { return answer == Answer::Ok; }
};

/// The result classifier for `Response`: the class `default_classifier` gives the exception
/// the same answer throws (`ServerError`, `RateLimitError`, `AttemptTimeoutError` ->
/// `Transient`, `ConcurrencyError`), so a policy sees the same run either way, only faster:
/// no exception is thrown. With `honour_retry_after`, a `Limited` answer carries its
/// Retry-After, as `retry_after_classifier` does.
struct ResponseClassifier {
    /// Pass the Retry-After of a 429 on to `retry_after_or`.
    bool honour_retry_after = false;
    /// `std::nullopt` for `Ok`; the failure's class otherwise.
    [[nodiscard]] std::optional<Classification> operator()(const Response& r) const {
        switch (r.answer) {
            case Answer::Ok: return std::nullopt;
            case Answer::Unavailable:
            case Answer::Overloaded: return Classification{ErrorClass::ServerError};
            case Answer::Limited:
                if (honour_retry_after) return Classification{ErrorClass::RateLimit, r.retry_after};
                return Classification{ErrorClass::RateLimit};
            case Answer::TimedOut: return Classification{ErrorClass::Transient};
            case Answer::Conflict: return Classification{ErrorClass::Concurrency};
        }
        return Classification{ErrorClass::Unknown};
    }
};

/// `.result_classifier = redress::simulation::response_classifier`: failures as values.
inline constexpr ResponseClassifier response_classifier{};
/// As `response_classifier`, honouring Retry-After (with `retry_after_or`).
inline constexpr ResponseClassifier retry_after_response_classifier{.honour_retry_after = true};

/// The modelled service. `call()` is one attempt: it resumes the caller when the answer
/// arrives (or the client's timeout fires) and throws the failure, if any. Single-threaded.
class Downstream {
public:
    /// The downstream of `s`, answering on `loop`, drawing from `rng`, reporting to `rec`;
    /// `origin` is the start of the run. All must outlive it.
    Downstream(const Scenario& s, EventLoop& loop, Random& rng, Recorder& rec, TimePoint origin)
        : s_(s), loop_(loop), rng_(rng), rec_(rec), origin_(origin), service_(s.service_time, s.service_time_cv),
          free_at_(static_cast<std::size_t>(s.concurrency), origin), tokens_(s.fault.rate_limit) {}

    /// What an attempt hears back (`redress::simulation::Answer`).
    using Answer = simulation::Answer;

    /// One attempt: an awaitable that resumes the caller when the answer arrives. With
    /// `Returns`, `await_resume` returns the `Response`; otherwise it throws the failure, if
    /// any. Not a coroutine: a failure is thrown once, straight into the policy's driver (a
    /// `Task` would throw twice, through its frame).
    ///
    /// A stop requested on `token` while the attempt waits (a hedge's loser) resumes the
    /// caller at once with a `TimedOut` answer; the downstream is not told, as a server
    /// without cancellation is not: the attempt keeps its place in the queue and its server
    /// time, so a loser costs the downstream all its work (`Result::cancelled` counts them).
    template <bool Returns>
    class BasicAttempt {
    public:
        /// An attempt on `ds` (nothing happens until it is awaited).
        explicit BasicAttempt(Downstream* ds, std::stop_token token = {}) : ds_(ds), token_(std::move(token)) {}
        /// Never ready: the answer takes (virtual) time.
        bool await_ready() const noexcept { return false; }
        /// Sends the attempt; `caller` is resumed when the answer arrives.
        void await_suspend(std::coroutine_handle<> caller) {
            if (ds_->s_.shared_row) {
                ds_->loop_.spawn(write_row(ds_, this, caller));
            } else if (!token_.stop_possible()) {
                const Reply reply = ds_->decide();
                answer_ = reply.answer;
                ds_->loop_.sleep(reply.after).await_suspend(caller);
            } else {
                const Reply reply = ds_->decide();
                answer_ = reply.answer;
                // The answer and the stop race for the caller; whichever comes first takes it.
                auto waiting = std::make_shared<std::coroutine_handle<>>(caller);
                deliver(ds_->loop_, reply.after, waiting);
                on_stop_ = std::make_unique<std::stop_callback<Cancel>>(token_, Cancel{this, std::move(waiting)});
            }
        }
        /// With `Returns`, the answer; otherwise returns on success and throws the failure
        /// (`ServerError`, `AttemptTimeoutError`, `RateLimited`, `ConcurrencyError`).
        auto await_resume() const {
            if constexpr (Returns) {
                return Response{answer_, answer_ == Answer::Limited ? ds_->s_.fault.retry_after : Duration::zero()};
            } else {
                ds_->raise(answer_);
            }
        }

    private:
        friend class Downstream;

        /// The stop: the caller stops waiting now; its answer is a timeout it chose.
        struct Cancel {
            BasicAttempt* attempt;
            std::shared_ptr<std::coroutine_handle<>> waiting;
            void operator()() const {
                const std::coroutine_handle<> caller = std::exchange(*waiting, {});
                if (!caller) return;
                attempt->answer_ = Answer::TimedOut;
                attempt->ds_->rec_.cancelled();
                attempt->ds_->loop_.resume_soon(caller);
            }
        };

        Downstream* ds_;
        std::stop_token token_;
        std::unique_ptr<std::stop_callback<Cancel>> on_stop_{};  // movable until awaited
        Answer answer_ = Answer::Ok;
    };

    /// An attempt that throws its failure.
    using Attempt = BasicAttempt<false>;
    /// An attempt that returns its `Response`.
    using Responding = BasicAttempt<true>;

    /// One attempt, as the policy's operation: `[&ds](std::stop_token t) { return
    /// ds.call(t); }`; throws its failure. A stop on `token` ends the wait (see `BasicAttempt`).
    [[nodiscard]] Attempt call(std::stop_token token = {}) { return Attempt(this, std::move(token)); }

    /// One attempt that returns its `Response` (for a policy whose `result_classifier` takes
    /// one): `[&ds](std::stop_token t) { return ds.respond(t); }`.
    [[nodiscard]] Responding respond(std::stop_token token = {}) { return Responding(this, std::move(token)); }

private:
    /// What the client hears, and how long after it sent the attempt.
    struct Reply {
        Answer answer;
        Duration after;
    };

    /// Decides the attempt's fate at arrival: the queue is computed exactly then.
    Reply decide() {
        const TimePoint now = loop_.now();
        rec_.attempt(now - origin_);
        const Duration rtt = network() + network();
        Answer answer = Answer::Ok;
        Duration wait = rtt;
        if (const auto fast = fault_answer(now)) {
            answer = *fast;
        } else if (queue_full(now)) {
            answer = Answer::Overloaded;
        } else {
            wait = admit(now) - now + rtt;
            if (wait > s_.timeout) {
                answer = Answer::TimedOut;  // the server still does the work: nobody tells it
                wait = s_.timeout;
            }
        }
        return Reply{answer, wait};
    }

    /// The fault's immediate answer, if it gives one at `now`.
    std::optional<Answer> fault_answer(TimePoint now) {
        const Duration t = now - origin_;
        const bool active = t >= s_.fault.start && t < s_.fault.end();
        if (!active) return std::nullopt;
        switch (s_.fault.kind) {
            case FaultKind::Outage: return Answer::Unavailable;
            case FaultKind::Blip:
                if (rng_.bernoulli(s_.fault.error_rate)) return Answer::Unavailable;
                return std::nullopt;
            case FaultKind::RateLimit: return take_token(now) ? std::nullopt : std::optional{Answer::Limited};
            case FaultKind::Overload:
            case FaultKind::None: return std::nullopt;
        }
        return std::nullopt;
    }

    /// A token bucket of `rate_limit` per second, holding at most one second's worth.
    bool take_token(TimePoint now) {
        const double rate = s_.fault.rate_limit;
        tokens_ = std::min(rate, tokens_ + rate * static_cast<double>((now - last_refill_).count()) / 1e9);
        last_refill_ = now;
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }

    bool queue_full(TimePoint now) {
        while (!waiting_.empty() && waiting_.front() <= now) waiting_.pop_front();
        return waiting_.size() >= static_cast<std::size_t>(s_.queue_limit) && free_at_.front() > now;
    }

    /// FIFO over `concurrency` servers: the attempt starts when the earliest server frees up.
    /// Returns when the server finishes it.
    TimePoint admit(TimePoint now) {
        const TimePoint start = std::max(now, free_at_.front());
        const TimePoint end = start + service_time(now);
        replace_earliest(end);
        if (start > now) waiting_.push_back(start);
        rec_.busy(start - origin_, end - origin_);
        return end;
    }

    /// The earliest server is busy until `end`: one sift down the min-heap `free_at_` (a
    /// pop and a push would sift twice).
    void replace_earliest(TimePoint end) noexcept {
        const std::size_t n = free_at_.size();
        std::size_t i = 0;
        for (std::size_t child = 1; child < n; child = 2 * i + 1) {
            if (child + 1 < n && free_at_[child + 1] < free_at_[child]) ++child;
            if (!(free_at_[child] < end)) break;
            free_at_[i] = free_at_[child];
            i = child;
        }
        free_at_[i] = end;
    }

    Duration service_time(TimePoint now) {
        Duration d = rng_.lognormal(service_);
        // No draw without a tail: the runs of scenarios without one stay as they were.
        if (s_.tail_share > 0.0 && rng_.bernoulli(s_.tail_share)) d = scaled(d, s_.tail_slowdown);
        const Duration t = now - origin_;
        if (s_.fault.kind == FaultKind::Overload && t >= s_.fault.start && t < s_.fault.end())
            d = scaled(d, s_.fault.slowdown);
        return d;
    }

    static Duration scaled(Duration d, double factor) {
        return Duration{static_cast<Duration::rep>(static_cast<double>(d.count()) * factor)};
    }

    /// Resumes the caller in `waiting` after `after`, unless a stop took it first.
    static redress::detail::Detached deliver(EventLoop& loop, Duration after,
                                             std::shared_ptr<std::coroutine_handle<>> waiting) {
        co_await loop.sleep(after);
        if (const std::coroutine_handle<> caller = std::exchange(*waiting, {})) caller.resume();
    }

    Duration network() { return rng_.folded_normal(s_.network_delay, s_.network_jitter); }

    void raise(Answer a) const {
        switch (a) {
            case Answer::Ok: return;
            case Answer::Unavailable: throw ServerError("503 Service Unavailable");
            case Answer::Overloaded: throw ServerError("503 queue full");
            case Answer::Limited: throw RateLimited(s_.fault.retry_after);
            case Answer::TimedOut: throw AttemptTimeoutError("client timeout");
            case Answer::Conflict: throw ConcurrencyError("conditional write failed: the row changed");
        }
    }

    /// The AWS model: read the row's version, then write it if nobody wrote in between; then
    /// answer `attempt` and resume `caller` (the attempt lives in the caller's frame).
    template <bool Returns>
    static Task<void> write_row(Downstream* self, BasicAttempt<Returns>* attempt, std::coroutine_handle<> caller) {
        co_await self->loop_.sleep(self->network());
        const std::uint64_t seen = self->version_;
        co_await self->loop_.sleep(self->network() + self->network());
        self->rec_.attempt(self->loop_.now() - self->origin_);
        const bool written = seen == self->version_;
        if (written) ++self->version_;
        co_await self->loop_.sleep(self->network());
        attempt->answer_ = written ? Answer::Ok : Answer::Conflict;
        self->loop_.resume_soon(caller);
    }

    const Scenario& s_;
    EventLoop& loop_;
    Random& rng_;
    Recorder& rec_;
    TimePoint origin_;
    Random::LogNormal service_;
    std::vector<TimePoint> free_at_;  // when each server frees up: a min-heap
    // Starts still ahead, in order: an attempt starts no earlier than the one admitted before it
    // (the earliest free server only moves later), so a FIFO is the min-heap it replaces.
    std::deque<TimePoint> waiting_;
    double tokens_;
    TimePoint last_refill_{};
    std::uint64_t version_ = 0;
};

}  // namespace redress::simulation
