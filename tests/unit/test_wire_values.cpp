// Wire values: every enumerator's to_string is pinned here, written out from the Python
// library's wire values independently of the tables in the headers, and round-trips through parse<E>.
#include <redress/vocabulary.hpp>
#include <redress/error_class.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

template <class E>
using WireTable = std::vector<std::pair<E, std::string_view>>;

// Checks one enum against its expected table: the table names every enumerator exactly once,
// to_string gives the wire value, parse gives the enumerator back, operator<< prints the wire
// value, and near-miss spellings do not parse.
template <class E>
void check_wire_values(const WireTable<E>& expected) {
    const auto all = redress::all_values<E>();
    REQUIRE(expected.size() == all.size());

    std::set<E> enumerators;
    std::set<std::string_view> names;
    for (std::size_t i = 0; i < expected.size(); ++i) {
        const auto& [value, wire] = expected[i];
        CAPTURE(i, wire);
        CHECK(all[i] == value);  // declaration order
        CHECK(redress::to_string(value) == wire);
        CHECK(redress::parse<E>(wire) == value);

        std::ostringstream os;
        os << value;
        CHECK(os.str() == wire);

        enumerators.insert(value);
        names.insert(wire);

        const std::string name(wire);
        CHECK_FALSE(redress::parse<E>(name + " ").has_value());
        CHECK_FALSE(redress::parse<E>(" " + name).has_value());
        CHECK_FALSE(redress::parse<E>(name.substr(0, name.size() - 1)).has_value());
        std::string flipped = name;
        for (char& c : flipped) {
            if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
            else if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        CHECK_FALSE(redress::parse<E>(flipped).has_value());  // parsing is case-sensitive
    }
    CHECK(enumerators.size() == expected.size());
    CHECK(names.size() == expected.size());
    CHECK_FALSE(redress::parse<E>("").has_value());
    CHECK_FALSE(redress::parse<E>("not-a-wire-value").has_value());
}

}  // namespace

TEST_CASE("ErrorClass wire values are the Python upper-case names") {
    using E = redress::ErrorClass;
    check_wire_values<E>({
        {E::Auth, "AUTH"},
        {E::Permission, "PERMISSION"},
        {E::Permanent, "PERMANENT"},
        {E::Concurrency, "CONCURRENCY"},
        {E::RateLimit, "RATE_LIMIT"},
        {E::ServerError, "SERVER_ERROR"},
        {E::Transient, "TRANSIENT"},
        {E::Unknown, "UNKNOWN"},
    });
}

TEST_CASE("StopReason wire values are the Python upper-case names, plus CIRCUIT_OPEN") {
    using E = redress::StopReason;
    check_wire_values<E>({
        {E::MaxAttemptsGlobal, "MAX_ATTEMPTS_GLOBAL"},
        {E::MaxAttemptsPerClass, "MAX_ATTEMPTS_PER_CLASS"},
        {E::DeadlineExceeded, "DEADLINE_EXCEEDED"},
        {E::MaxUnknownAttempts, "MAX_UNKNOWN_ATTEMPTS"},
        {E::NonRetryableClass, "NON_RETRYABLE_CLASS"},
        {E::NoStrategy, "NO_STRATEGY"},
        {E::BudgetExhausted, "BUDGET_EXHAUSTED"},
        {E::Scheduled, "SCHEDULED"},
        {E::Aborted, "ABORTED"},
        {E::CircuitOpen, "CIRCUIT_OPEN"},
    });
}

TEST_CASE("EventName wire values are the Python event names") {
    using E = redress::EventName;
    check_wire_values<E>({
        {E::Success, "success"},
        {E::Retry, "retry"},
        {E::PermanentFail, "permanent_fail"},
        {E::DeadlineExceeded, "deadline_exceeded"},
        {E::MaxAttemptsExceeded, "max_attempts_exceeded"},
        {E::MaxUnknownAttemptsExceeded, "max_unknown_attempts_exceeded"},
        {E::NoStrategyConfigured, "no_strategy_configured"},
        {E::BudgetExhausted, "budget_exhausted"},
        {E::Scheduled, "scheduled"},
        {E::Aborted, "aborted"},
        {E::CircuitOpened, "circuit_opened"},
        {E::CircuitHalfOpen, "circuit_half_open"},
        {E::CircuitClosed, "circuit_closed"},
        {E::CircuitRejected, "circuit_rejected"},
        {E::BudgetBackendUnavailable, "budget_backend_unavailable"},
        {E::HedgeSent, "hedge_sent"},
        {E::HedgeSkipped, "hedge_skipped"},
    });
}

TEST_CASE("FailureCause wire values are exception and result") {
    using E = redress::FailureCause;
    check_wire_values<E>({
        {E::Exception, "exception"},
        {E::Result, "result"},
    });
}

TEST_CASE("AttemptDecision wire values are the Python lower-case names") {
    using E = redress::AttemptDecision;
    check_wire_values<E>({
        {E::Success, "success"},
        {E::Retry, "retry"},
        {E::Raise, "raise"},
        {E::Scheduled, "scheduled"},
        {E::Aborted, "aborted"},
        {E::Cancelled, "cancelled"},
    });
}

TEST_CASE("HedgeTrigger wire values are fixed and percentile") {
    using E = redress::HedgeTrigger;
    check_wire_values<E>({
        {E::Fixed, "fixed"},
        {E::Percentile, "percentile"},
    });
}

TEST_CASE("SleepDecision wire values are sleep, defer and abort") {
    using E = redress::SleepDecision;
    check_wire_values<E>({
        {E::Sleep, "sleep"},
        {E::Defer, "defer"},
        {E::Abort, "abort"},
    });
}

TEST_CASE("CircuitState wire values are closed, open and half_open") {
    using E = redress::CircuitState;
    check_wire_values<E>({
        {E::Closed, "closed"},
        {E::Open, "open"},
        {E::HalfOpen, "half_open"},
    });
}

TEST_CASE("to_string and parse are usable at compile time") {
    static_assert(redress::to_string(redress::ErrorClass::RateLimit) == "RATE_LIMIT");
    static_assert(redress::parse<redress::CircuitState>("half_open") == redress::CircuitState::HalfOpen);
    static_assert(!redress::parse<redress::StopReason>("aborted").has_value());
    SUCCEED("checked by static_assert");
}
