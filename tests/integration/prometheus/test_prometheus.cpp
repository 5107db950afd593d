// <redress/contrib/prometheus.hpp> against Prometheus's own parser and linter: renderings of
// scripted runs are fed to `promtool check metrics` (exit 0, no lint problem), and their
// values are compared exactly: counters, histogram, the folding into `other`, label escaping.
#include <redress/contrib/prometheus.hpp>
#include <redress/redress.hpp>
#include <redress/testing.hpp>

#include "every_event.hpp"

#include "process.hpp"

#include <catch2/catch.hpp>

#include "catch_runner.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using redress::EventName;
using redress::contrib::PrometheusOptions;
using redress::contrib::PrometheusSink;

namespace {

std::string promtool;  // found in main(), or the test is skipped

struct Check {
    int exit_code;
    std::string output;  // promtool's stdout and stderr: parse errors and lint problems
};

// Runs `promtool check metrics` with `text` on its standard input (from a file).
Check promtool_check(const std::string& text) {
    const redress::it::TempDir dir("redress-promtool");
    const auto metrics = (dir.path() / "metrics.txt").string();
    const auto log = (dir.path() / "promtool.log").string();
    std::ofstream(metrics, std::ios::binary) << text;
    const int code = redress::it::run({"/bin/sh", "-c", "exec \"$0\" check metrics < \"$1\"", promtool, metrics},
                                      {.log_file = log});
    std::ifstream in(log);
    std::stringstream output;
    output << in.rdbuf();
    return {code, output.str()};
}

void check_promtool_accepts(const std::string& text) {
    const auto result = promtool_check(text);
    CAPTURE(text);
    CHECK(result.output == "");
    CHECK(result.exit_code == 0);
}

// The samples of a rendering: series (name and labels, as written) -> value.
std::map<std::string, std::string> samples(const std::string& text) {
    std::map<std::string, std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        REQUIRE(space != std::string::npos);
        REQUIRE(out.emplace(line.substr(0, space), line.substr(space + 1)).second);  // no duplicate series
    }
    return out;
}

// The histogram samples of `operation` (a label value as written) for these attempt counts.
void add_histogram(std::map<std::string, std::string>& out, const std::string& operation,
                   const std::vector<int>& attempts, const std::vector<int>& bounds = {1, 2, 3, 4, 5, 6, 8, 10}) {
    const std::string labels = "{operation=\"" + operation + "\"";
    int sum = 0;
    for (const int a : attempts) sum += a;
    for (const int le : bounds) {
        int n = 0;
        for (const int a : attempts) n += a <= le ? 1 : 0;
        out[std::string("redress_operation_attempts_bucket") + labels + ",le=\"" + std::to_string(le) + "\"}"] =
            std::to_string(n);
    }
    out["redress_operation_attempts_bucket" + labels + ",le=\"+Inf\"}"] = std::to_string(attempts.size());
    out["redress_operation_attempts_sum" + labels + "}"] = std::to_string(sum);
    out["redress_operation_attempts_count" + labels + "}"] = std::to_string(attempts.size());
}

// The shared script (support/every_event.hpp): every kind of event.
void run_script(const redress::EventHook& on_metric) {
    redress::it::run_every_event(on_metric, redress::it::Hook::Metric, redress::testing::instant_retries,
                                 [] { throw redress::PermanentError("schema"); });
}

std::string invalid_argument_message(const PrometheusOptions& options) {
    try {
        static_cast<void>(PrometheusSink(options));
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no exception";
}

}  // namespace

TEST_CASE("promtool accepts the rendering of a scripted run, and every counter has its exact value") {
    PrometheusSink metrics;
    run_script(metrics);
    const std::string text = metrics.render();
    check_promtool_accepts(text);

    std::map<std::string, std::string> expected{
        {R"(redress_events_total{operation="GET /users/\"1\"",event="retry",class="SERVER_ERROR"})", "2"},
        {R"(redress_events_total{operation="GET /users/\"1\"",event="success"})", "1"},
        {R"(redress_events_total{operation="save",event="permanent_fail",class="PERMANENT"})", "1"},
        {R"(redress_events_total{operation="quota",event="retry",class="RATE_LIMIT"})", "1"},
        {R"(redress_events_total{operation="quota",event="success"})", "1"},
        {R"(redress_events_total{operation="sync account",event="retry",class="SERVER_ERROR"})", "4"},
        {R"(redress_events_total{operation="sync account",event="max_attempts_exceeded",class="SERVER_ERROR"})", "2"},
        {R"(redress_events_total{operation="sync account",event="circuit_opened",class="SERVER_ERROR"})", "1"},
        {R"(redress_events_total{operation="sync account",event="circuit_rejected"})", "1"},
        {R"(redress_events_total{operation="sync account",event="circuit_half_open"})", "1"},
        {R"(redress_events_total{operation="sync account",event="success"})", "1"},
        {R"(redress_events_total{operation="sync account",event="circuit_closed"})", "1"},
        {R"(redress_events_total{operation="drain",event="aborted"})", "1"},
        {R"(redress_stops_total{operation="save",stop_reason="NON_RETRYABLE_CLASS"})", "1"},
        {R"(redress_stops_total{operation="sync account",stop_reason="MAX_ATTEMPTS_GLOBAL"})", "2"},
        {R"(redress_stops_total{operation="drain",stop_reason="ABORTED"})", "1"},
    };
    add_histogram(expected, R"(GET /users/\"1\")", {3});
    add_histogram(expected, "save", {1});
    add_histogram(expected, "quota", {2});
    add_histogram(expected, "sync account", {3, 3, 1});  // the rejected call made no attempt
    add_histogram(expected, "drain", {1});
    CHECK(samples(text) == expected);
    CHECK(metrics.operations() == 5);
}

TEST_CASE("each family has its HELP and TYPE lines, and a family's series are together") {
    PrometheusSink metrics;
    run_script(metrics);
    std::istringstream in(metrics.render());
    std::vector<std::string> order;  // metric families as they appear
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("# TYPE ", 0) == 0) order.push_back(line);
        else if (line.rfind("# HELP ", 0) == 0) CHECK(line.size() > 40);
        else if (order.empty()) FAIL("a sample before any TYPE line: " << line);
        else CHECK(line.rfind(order.back().substr(7, order.back().find(' ', 7) - 7), 0) == 0);
    }
    CHECK(order == std::vector<std::string>{"# TYPE redress_events_total counter", "# TYPE redress_stops_total counter",
                                            "# TYPE redress_operation_attempts histogram"});
}

TEST_CASE("budget_backend_unavailable is counted with the class of the failure that asked for the retry") {
    PrometheusSink metrics;
    metrics({.name = EventName::BudgetBackendUnavailable,
             .attempt = 1,
             .error_class = redress::ErrorClass::ServerError,
             .operation = "reserve"});
    const std::string text = metrics.render();
    check_promtool_accepts(text);
    // Not a terminal event: no stop, no attempts observed.
    CHECK(samples(text) ==
          std::map<std::string, std::string>{
              {R"(redress_events_total{operation="reserve",event="budget_backend_unavailable",class="SERVER_ERROR"})", "1"}});
}

TEST_CASE("operation names beyond max_operations are counted under other, and so is an operation named other") {
    PrometheusSink metrics({.max_operations = 3, .attempt_buckets = {1, 3}});
    for (const char* op : {"a", "b", "c", "d", "e", "other", "a", "d"})
        metrics({.name = EventName::Success, .attempt = 2, .operation = op});
    metrics({.name = EventName::Retry, .attempt = 1, .error_class = redress::ErrorClass::Transient, .operation = "e"});
    const std::string text = metrics.render();
    check_promtool_accepts(text);
    std::map<std::string, std::string> expected{
        {R"(redress_events_total{operation="a",event="success"})", "2"},
        {R"(redress_events_total{operation="b",event="success"})", "1"},
        {R"(redress_events_total{operation="c",event="success"})", "1"},
        {R"(redress_events_total{operation="other",event="success"})", "4"},
        {R"(redress_events_total{operation="other",event="retry",class="TRANSIENT"})", "1"},
    };
    add_histogram(expected, "a", {2, 2}, {1, 3});
    add_histogram(expected, "b", {2}, {1, 3});
    add_histogram(expected, "c", {2}, {1, 3});
    add_histogram(expected, "other", {2, 2, 2, 2}, {1, 3});
    CHECK(samples(text) == expected);
    CHECK(metrics.operations() == 3);
}

TEST_CASE("label values are escaped, and bytes that are not UTF-8 are replaced, so promtool reads every name") {
    PrometheusSink metrics;
    const std::vector<std::string> names{"quote\"d", "back\\slash", "new\nline", "tab\tand\rreturn", "caf\xc3\xa9",
                                         "bad\xff", "bad\xfe", "overlong\xc0\xaf", "surrogate\xed\xa0\x80",
                                         "cut\xe2\x82", "\xf4\x90\x80\x80", ""};
    for (const auto& name : names) metrics({.name = EventName::Success, .attempt = 1, .operation = name});
    const std::string text = metrics.render();
    check_promtool_accepts(text);
    std::map<std::string, std::string> events;
    for (const auto& [series, value] : samples(text))
        if (series.rfind("redress_events_total", 0) == 0) events[series] = value;
    const std::string fffd = "\xef\xbf\xbd";
    const auto success = [](const std::string& label) {
        return "redress_events_total{operation=\"" + label + "\",event=\"success\"}";
    };
    CHECK(events == std::map<std::string, std::string>{
                        {success(R"(quote\"d)"), "1"},
                        {success(R"(back\\slash)"), "1"},
                        {success(R"(new\nline)"), "1"},
                        {success("tab\tand\rreturn"), "1"},
                        {success("caf\xc3\xa9"), "1"},
                        {success("bad" + fffd), "2"},  // two byte strings, one label: one series
                        {success("overlong" + fffd + fffd), "1"},
                        {success("surrogate" + fffd + fffd + fffd), "1"},
                        {success("cut" + fffd + fffd), "1"},
                        {success(fffd + fffd + fffd + fffd), "1"},
                        {success(""), "1"},
                    });
}

TEST_CASE("a sink that counted nothing renders the three families' HELP and TYPE lines only") {
    const std::string text = PrometheusSink({.prefix = "svc_retry"}).render();
    check_promtool_accepts(text);
    CHECK(samples(text).empty());
    CHECK(std::count(text.begin(), text.end(), '\n') == 6);
    CHECK(text.find("# TYPE svc_retry_operation_attempts histogram\n") != std::string::npos);
}

TEST_CASE("a histogram with no bounds has only the +Inf bucket") {
    PrometheusSink metrics({.attempt_buckets = {}});
    metrics({.name = EventName::MaxAttemptsExceeded, .attempt = 6, .error_class = redress::ErrorClass::Transient,
             .stop_reason = redress::StopReason::MaxAttemptsGlobal, .operation = "x"});
    const std::string text = metrics.render();
    check_promtool_accepts(text);
    std::map<std::string, std::string> expected{
        {R"(redress_events_total{operation="x",event="max_attempts_exceeded",class="TRANSIENT"})", "1"},
        {R"(redress_stops_total{operation="x",stop_reason="MAX_ATTEMPTS_GLOBAL"})", "1"},
    };
    add_histogram(expected, "x", {6}, {});
    CHECK(samples(text) == expected);
}

TEST_CASE("promtool, as run here, does report a broken exposition (the check can fail)") {
    const auto second_type = promtool_check("# HELP x_total a\n# TYPE x_total counter\nx_total 1\n# TYPE x_total counter\n");
    CHECK(second_type.exit_code != 0);
    const auto no_help = promtool_check("# TYPE x_total counter\nx_total 1\n");
    CHECK(no_help.exit_code != 0);
    CHECK_THAT(no_help.output, Catch::Contains("no help text"));
    const auto bad_utf8 = promtool_check("# HELP x_total a\n# TYPE x_total counter\nx_total{a=\"\xff\"} 1\n");
    CHECK(bad_utf8.exit_code != 0);
}

TEST_CASE("invalid options throw std::invalid_argument naming the option") {
    for (const char* prefix : {"", "9lives", "a-b", "a:b", "sp ace"}) {
        CAPTURE(prefix);
        CHECK_THAT(invalid_argument_message({.prefix = prefix}), Catch::StartsWith("PrometheusOptions::prefix: "));
    }
    CHECK_THAT(invalid_argument_message({.max_operations = 0}), Catch::StartsWith("PrometheusOptions::max_operations: 0"));
    CHECK_THAT(invalid_argument_message({.max_operations = PrometheusOptions::max_operations_limit + 1}),
               Catch::StartsWith("PrometheusOptions::max_operations: 10001"));
    CHECK_THAT(invalid_argument_message({.attempt_buckets = {0}}),
               Catch::StartsWith("PrometheusOptions::attempt_buckets: ") && Catch::EndsWith("entry 0 is 0"));
    CHECK_THAT(invalid_argument_message({.attempt_buckets = {1, 3, 3}}), Catch::EndsWith("entry 2 is 3"));
    CHECK_THAT(invalid_argument_message({.attempt_buckets = std::vector<int>(33, 1)}),
               Catch::StartsWith("PrometheusOptions::attempt_buckets: 33 buckets"));
    CHECK(invalid_argument_message({.prefix = "_ok9", .max_operations = PrometheusOptions::max_operations_limit,
                                    .attempt_buckets = {1, 1000}}) == "no exception");
}

int main(int argc, char* argv[]) {
    const auto found = redress::it::find_program({"promtool"});
    if (!found) redress::it::skip("promtool not found on PATH (Debian: apt-get install prometheus)");
    promtool = *found;
    return redress_test::run_catch(argc, argv);
}
