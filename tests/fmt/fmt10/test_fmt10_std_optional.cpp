// <redress/fmt.hpp> with a fmt that formats std::optional itself (fmt 10.0.0 and later, in
// <fmt/std.h>). Only fmt 9.1 is installed here, so this translation unit plays fmt 10: it says
// so (REDRESS_FMT_HAS_STD_OPTIONAL, which redress derives from FMT_VERSION on a real fmt) and
// declares a partial specialization with the signature of fmt 10's, behaving as fmt 10's
// does (`optional(` value `)` with the value's formatter in debug mode, or `none`).
//
// Built twice (tests/fmt/tests.cmake):
//   * as redress_fmt10_tests: compiles and checks that fmt 10's formatter prints redress enums
//     exactly as redress's fmt 9 formatter does (tests/fmt/test_fmt.cpp), so upgrading fmt
//     does not change a line of output;
//   * with -DREDRESS_FMT_HAS_STD_OPTIONAL=0, as if redress had no version guard: that build
//     must fail with an ambiguous partial specialization (test "compile_fail: fmt 10 ...").
// Its own executable: its std::optional formatter must not meet fmt 9's at link time.
#ifndef REDRESS_FMT_HAS_STD_OPTIONAL
#define REDRESS_FMT_HAS_STD_OPTIONAL 1
#endif
#include <redress/fmt.hpp>

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <type_traits>

// After redress/fmt.hpp on purpose: the guard must not depend on which header comes first.
template <class T, class Char>
struct fmt::formatter<std::optional<T>, Char, std::enable_if_t<fmt::is_formattable<T, Char>::value>> {
    constexpr auto parse(fmt::basic_format_parse_context<Char>& ctx) -> decltype(ctx.begin()) {
        debug_format(value_, 0);
        return value_.parse(ctx);
    }

    template <class FormatContext>
    auto format(const std::optional<T>& opt, FormatContext& ctx) const -> decltype(ctx.out()) {
        if (!opt) return fmt::format_to(ctx.out(), "none");
        ctx.advance_to(fmt::format_to(ctx.out(), "optional("));
        auto out = value_.format(*opt, ctx);
        *out++ = ')';
        return out;
    }

private:
    // fmt 10 asks the value's formatter for its debug form (strings come out quoted) with
    // set_debug_format(true); the installed fmt 9's own formatters spell it set_debug_format().
    template <class F>
    static constexpr auto debug_format(F& f, int) -> decltype(f.set_debug_format(true)) {
        f.set_debug_format(true);
    }
    template <class F>
    static constexpr auto debug_format(F& f, long) -> decltype(f.set_debug_format()) {
        f.set_debug_format();
    }
    template <class F>
    static constexpr void debug_format(F&, ...) {}

    fmt::formatter<T, Char> value_;
};

namespace {

template <class E>
void check_optional_enum_formats_as_on_fmt_9() {
    for (const E value : redress::all_values<E>()) {
        CAPTURE(redress::to_string(value));
        CHECK(fmt::format("{}", std::optional<E>(value)) == "optional(" + std::string(redress::to_string(value)) + ")");
    }
    CHECK(fmt::format("{}", std::optional<E>()) == "none");
}

}  // namespace

TEST_CASE("with fmt 10's std::optional formatter, optional redress enums print as on fmt 9") {
    check_optional_enum_formats_as_on_fmt_9<redress::ErrorClass>();
    check_optional_enum_formats_as_on_fmt_9<redress::StopReason>();
    check_optional_enum_formats_as_on_fmt_9<redress::EventName>();
    check_optional_enum_formats_as_on_fmt_9<redress::FailureCause>();
    check_optional_enum_formats_as_on_fmt_9<redress::AttemptDecision>();
    check_optional_enum_formats_as_on_fmt_9<redress::SleepDecision>();
    check_optional_enum_formats_as_on_fmt_9<redress::CircuitState>();
    CHECK(fmt::format("[{:>8}]", std::optional(redress::CircuitState::Open)) == "[optional(    open)]");
}

TEST_CASE("with fmt 10's std::optional formatter, the stand-in really is the one in use") {
    // Strings are formatted in debug form inside it, so it cannot be mistaken for redress's.
    CHECK(fmt::format("{}", std::optional<std::string>("a")) == "optional(\"a\")");
    CHECK(fmt::format("{}", std::optional<int>(3)) == "optional(3)");
}

TEST_CASE("with fmt 10's std::optional formatter, outcomes and events format as on fmt 9") {
    redress::Outcome<void> failed;
    failed.stop_reason = redress::StopReason::MaxAttemptsGlobal;
    failed.attempts = 3;
    failed.last_class = redress::ErrorClass::Transient;
    failed.elapsed = std::chrono::milliseconds(1500);
    CHECK(fmt::format("{}", failed) ==
          "failed stop_reason=MAX_ATTEMPTS_GLOBAL attempts=3 last_class=TRANSIENT elapsed=1500ms");
    CHECK(fmt::format("{} {}", failed.stop_reason, failed.last_class) ==
          "optional(MAX_ATTEMPTS_GLOBAL) optional(TRANSIENT)");
}
