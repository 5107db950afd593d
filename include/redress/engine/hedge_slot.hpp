// What every hedged round keeps of an attempt in flight, and how it tells the core that one
// answered: shared by the coroutine round (engine/hedge_driver.hpp) and the sync round on an
// executor (engine/sync_hedge.hpp), which differ only in how attempts run and are waited for.
#pragma once

#include <cstdint>
#include <exception>
#include <optional>
#include <stop_token>
#include <type_traits>
#include <utility>

#include <redress/attempt.hpp>
#include <redress/clock.hpp>
#include <redress/detail/math.hpp>
#include <redress/engine/attempt_loop.hpp>
#include <redress/engine/settle.hpp>
#include <redress/engine/sync_driver.hpp>
#include <redress/engine/sync_wait.hpp>
#include <redress/hedge.hpp>
#include <redress/outcome.hpp>

namespace redress::detail {

/// One attempt in flight: its number, start, stop source (linked to the caller's token), its
/// own `Attempt` view, and how it ended. Written by the attempt before it reports, read by the
/// round after.
template <class T>
struct HedgeSlotCore {
    int attempt = 0;  ///< 0: free
    TimePoint started{};
    std::stop_source stop{};
    std::optional<std::stop_callback<RequestStop>> caller_stop{};
    Attempt view{};
    std::conditional_t<std::is_void_v<T>, bool, std::optional<T>> value{};
    RunResult result{Ran::Returned};

    void start(int number, TimePoint now, const std::stop_token& caller) {
        attempt = number;
        started = now;
        stop = std::stop_source{};
        caller_stop.emplace(caller, RequestStop{&stop});
    }
    [[nodiscard]] ValueSlot<T> value_slot() noexcept {
        if constexpr (std::is_void_v<T>) {
            return {};
        } else {
            return {&value};
        }
    }
    void free() noexcept {
        caller_stop.reset();
        attempt = 0;
        result = {Ran::Returned};
        if constexpr (!std::is_void_v<T>) value.reset();
    }
};

/// Tells the core how the attempt in `slot` ended, `in_flight` others still running, and fills
/// the winner on a success. A failure counts as the operation's abort when it was an
/// `AbortRetryError`, or when `caller_cancelled` (a coroutine whose caller was cancelled: the
/// attempt's failure is that cancellation). What the policy's configuration threw lands in
/// `config_error`.
template <class T, class Loop, class Settings>
[[nodiscard]] Next settle_hedged_answer(const HedgeState& hedge, Loop& loop, const Settings& cfg, Outcome<T>& out,
                                        HedgeSlotCore<T>& slot, int in_flight, bool caller_cancelled,
                                        std::exception_ptr& abort, std::exception_ptr& config_error) {
    loop.answered(slot.attempt, in_flight);
    if (slot.result.ran == Ran::Aborted || (slot.result.ran == Ran::Threw && caller_cancelled)) {
        abort = std::move(slot.result.error);
        loop.aborted_by_callable();
        return Next::Stop;
    }
    if constexpr (!std::is_void_v<T>) out.value = std::move(slot.value);
    Next next = Next::Stop;
    try {
        next = settle_attempt(loop, cfg, out, std::move(slot.result.error), cfg.attempt_timeout ? &slot.started : nullptr);
    } catch (...) {
        config_error = std::current_exception();
    }
    if (out.ok) {
        hedge.record(cfg.clock.now() - slot.started);
        out.winner = static_cast<std::uint16_t>(min_of(slot.attempt, 65535));
        out.in_flight = static_cast<std::uint8_t>(in_flight + 1);  // at most 1 + max_hedges_cap
    }
    return next;
}

}  // namespace redress::detail
