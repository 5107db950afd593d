// <redress/contrib/curl.hpp> against a real HTTP server: scripted_server.py, started once on
// 127.0.0.1 for every test case. Each case scripts its own path, runs requests through a
// policy, and reads back from the server what it saw (how many requests, which headers):
// the server's count is the evidence, not the client's.
#include <catch2/catch.hpp>

#include "catch_runner.hpp"

#include <redress/contrib/curl.hpp>
#include <redress/redress.hpp>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <sstream>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "process.hpp"

using namespace std::chrono_literals;
namespace http = redress::contrib::curl;
using redress::Duration;

namespace {

std::string base_url;  // http://127.0.0.1:PORT

/// A request to the server's control endpoints, with libcurl directly (not through the code
/// under test). Returns the body; fails the test on a transport error.
std::string control(const std::string& method, const std::string& target, const std::string& body = {}) {
    std::unique_ptr<CURL, void (*)(CURL*)> h(curl_easy_init(), curl_easy_cleanup);
    std::string out;
    const std::string url = base_url + target;
    curl_easy_setopt(h.get(), CURLOPT_URL, url.c_str());
    curl_easy_setopt(h.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    if (!body.empty()) curl_easy_setopt(h.get(), CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(h.get(), CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(h.get(), CURLOPT_WRITEFUNCTION, +[](char* d, std::size_t s, std::size_t n, void* o) {
        static_cast<std::string*>(o)->append(d, s * n);
        return s * n;
    });
    curl_easy_setopt(h.get(), CURLOPT_WRITEDATA, &out);
    const CURLcode code = curl_easy_perform(h.get());
    REQUIRE(code == CURLE_OK);
    return out;
}

/// Replaces the script of `path` (a JSON list of steps) and forgets what it saw.
void script(const std::string& path, const std::string& steps) { control("PUT", "/_script" + path, steps); }

/// What the server saw on `path`: one (method, value of header `name`) per request, in order.
std::vector<std::pair<std::string, std::string>> seen(const std::string& path, const std::string& header = "x-none") {
    std::istringstream in(control("GET", "/_log" + path + "?header=" + header));
    std::vector<std::pair<std::string, std::string>> requests;
    for (std::string line; std::getline(in, line);) {
        const auto tab = line.find('\t');
        requests.emplace_back(line.substr(0, tab), line.substr(tab + 1));
    }
    return requests;
}

/// What a policy did, from its hooks.
struct Recorder {
    std::mutex mutex;
    std::vector<redress::Event> events;
    std::vector<redress::Classification> failures;  // each failed attempt's classification
    std::vector<Duration> sleeps;                   // what the sleeper was asked to wait

    [[nodiscard]] std::vector<redress::Event> named(redress::EventName name) {
        std::lock_guard lock(mutex);
        std::vector<redress::Event> out;
        for (const auto& e : events)
            if (e.name == name) out.push_back(e);
        return out;
    }
};

struct PolicySettings {
    Duration deadline = 20s;
    std::optional<Duration> attempt_timeout{};
    int max_attempts = 4;
    bool real_sleeps = true;  // false: record the sleeps and return at once
};

/// A policy as a user would write one for HTTP, with hooks recording into `rec`.
auto make_policy(Recorder& rec, PolicySettings s = {}) {
    redress::Sleeper sleeper{};
    if (!s.real_sleeps)
        sleeper = [&rec](Duration d) {
            std::lock_guard lock(rec.mutex);
            rec.sleeps.push_back(d);
        };
    return redress::RetryPolicy{redress::Retry{
        .classifier = http::classifier,
        .strategy = redress::retry_after_or(redress::constant(20ms), 0ms),
        .deadline = s.deadline,
        .attempt_timeout = s.attempt_timeout,
        .max_attempts = s.max_attempts,
        .sleeper = sleeper,
        .on_metric =
            [&rec](const redress::Event& e) {
                std::lock_guard lock(rec.mutex);
                rec.events.push_back(e);
            },
        .on_attempt_end =
            [&rec](const redress::AttemptContext& ctx) {
                std::lock_guard lock(rec.mutex);
                if (ctx.classification != nullptr) rec.failures.push_back(*ctx.classification);
            },
    }};
}

double seconds_since(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST_CASE("a 503 then a 200 is retried once, and the server saw two requests") {
    script("/t/503", R"([{"status": 503, "body": "unavailable"}, {"status": 200, "body": "fine"}])");
    Recorder rec;
    const auto policy = make_policy(rec);

    const http::Response r = http::perform(policy, {.url = base_url + "/t/503"});

    CHECK(r.status == 200);
    CHECK(r.body == "fine");
    CHECK(seen("/t/503").size() == 2);
    REQUIRE(rec.failures.size() == 1);
    CHECK(rec.failures[0].klass == redress::ErrorClass::ServerError);
    CHECK(rec.named(redress::EventName::Retry).size() == 1);
}

TEST_CASE("a 429's Retry-After in seconds is the hint the policy sleeps for") {
    script("/t/429-seconds", R"([{"status": 429, "headers": {"Retry-After": "7"}}])");
    Recorder rec;
    const auto policy = make_policy(rec, {.real_sleeps = false});

    const http::Response r = http::perform(policy, {.url = base_url + "/t/429-seconds"});

    CHECK(r.status == 200);
    CHECK(seen("/t/429-seconds").size() == 2);
    const auto retries = rec.named(redress::EventName::Retry);
    REQUIRE(retries.size() == 1);
    CHECK(retries[0].error_class == redress::ErrorClass::RateLimit);
    CHECK(retries[0].retry_after == Duration(7s));
    CHECK(retries[0].sleep == 7s);  // retry_after_or with no jitter: the hint itself
    CHECK(rec.sleeps == std::vector<Duration>{7s});
}

TEST_CASE("a 429's Retry-After as an HTTP-date is the time until that date") {
    SECTION("read against the wall clock of the options") {
        script("/t/429-date", R"([{"status": 429, "headers": {"Retry-After": "Sun, 06 Nov 1994 08:49:37 GMT"}}])");
        Recorder rec;
        const auto policy = make_policy(rec, {.real_sleeps = false});
        using namespace std::chrono;
        const auto date = sys_days{year{1994} / November / 6} + 8h + 49min + 37s;

        const http::Response r = http::perform(policy, {.url = base_url + "/t/429-date"},
                                               {.wall_clock = [&] { return system_clock::time_point(date - 12s); }});

        CHECK(r.status == 200);
        CHECK(seen("/t/429-date").size() == 2);
        const auto retries = rec.named(redress::EventName::Retry);
        REQUIRE(retries.size() == 1);
        CHECK(retries[0].retry_after == Duration(12s));
        CHECK(rec.sleeps == std::vector<Duration>{12s});
    }
    SECTION("read against the system clock by default") {
        const std::time_t in_10s = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now() + 10s);
        std::tm utc{};
        ::gmtime_r(&in_10s, &utc);
        char date[64];
        std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &utc);
        script("/t/429-now", std::string(R"([{"status": 429, "headers": {"Retry-After": ")") + date + R"("}}])");
        Recorder rec;
        const auto policy = make_policy(rec, {.real_sleeps = false});

        const http::Response r = http::perform(policy, {.url = base_url + "/t/429-now"});

        CHECK(r.status == 200);
        CHECK(seen("/t/429-now").size() == 2);
        const auto retries = rec.named(redress::EventName::Retry);
        REQUIRE(retries.size() == 1);
        REQUIRE(retries[0].retry_after.has_value());
        CHECK(*retries[0].retry_after > 7s);  // whole seconds, less the time the request took
        CHECK(*retries[0].retry_after <= 10s);
    }
}

TEST_CASE("a Retry-After longer than the time left stops the request at once") {
    script("/t/429-long", R"([{"status": 429, "headers": {"Retry-After": "120"}}])");
    Recorder rec;
    const auto policy = make_policy(rec, {.deadline = 20s, .real_sleeps = false});

    try {
        http::perform(policy, {.url = base_url + "/t/429-long"});
        FAIL("the 429 was not thrown");
    } catch (const http::RequestError& e) {
        CHECK(e.http_status() == 429);
        CHECK(e.retry_after() == Duration(120s));
    }
    CHECK(seen("/t/429-long").size() == 1);
    CHECK(rec.sleeps.empty());
    CHECK(rec.named(redress::EventName::DeadlineExceeded).size() == 1);
}

TEST_CASE("a connection reset (RST) is retried") {
    script("/t/reset", R"([{"action": "reset"}, {"body": "after the reset"}])");
    Recorder rec;
    const auto policy = make_policy(rec);

    const http::Response r = http::perform(policy, {.url = base_url + "/t/reset"});

    CHECK(r.body == "after the reset");
    CHECK(seen("/t/reset").size() == 2);
    REQUIRE(rec.failures.size() == 1);
    CHECK(rec.failures[0].klass == redress::ErrorClass::Transient);
}

TEST_CASE("a slow response is cut at the attempt timeout and retried") {
    script("/t/slow", R"([{"delay": 3, "body": "too late"}, {"body": "in time"}])");
    Recorder rec;
    const auto policy = make_policy(rec, {.attempt_timeout = 300ms});

    const auto start = std::chrono::steady_clock::now();
    const http::Response r = http::perform(policy, {.url = base_url + "/t/slow"});
    const double took = seconds_since(start);

    CHECK(r.body == "in time");
    CHECK(seen("/t/slow").size() == 2);
    REQUIRE(rec.failures.size() == 1);
    CHECK(rec.failures[0].klass == redress::ErrorClass::Transient);
    CHECK(took >= 0.3);
    CHECK(took < 1.5);  // the slow answer would have taken 3 s
}

TEST_CASE("a transfer never runs past what is left of the deadline") {
    script("/t/deadline", R"([{"delay": 3}])");
    Recorder rec;
    const auto policy = make_policy(rec, {.deadline = 500ms});

    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS_AS(http::perform(policy, {.url = base_url + "/t/deadline"}), http::RequestError);
    const double took = seconds_since(start);

    CHECK(took >= 0.45);
    CHECK(took < 1.5);
    CHECK(seen("/t/deadline").size() == 1);
    CHECK(rec.named(redress::EventName::DeadlineExceeded).size() == 1);
}

TEST_CASE("a POST without an idempotency key is sent once") {
    Recorder rec;
    const auto policy = make_policy(rec);

    SECTION("after a 503") {
        script("/t/post-503", R"([{"status": 503, "body": "busy"}])");
        try {
            http::perform(policy, {.method = "POST", .url = base_url + "/t/post-503", .body = "{}"});
            FAIL("the 503 was not thrown");
        } catch (const http::RequestError& e) {
            CHECK(e.http_status() == 503);
            CHECK(!e.may_retry());
            CHECK(e.response().body == "busy");
        }
        CHECK(seen("/t/post-503") == std::vector<std::pair<std::string, std::string>>{{"POST", ""}});
    }
    SECTION("after a connection reset") {
        script("/t/post-reset", R"([{"action": "reset"}])");
        CHECK_THROWS_AS(http::perform(policy, {.method = "POST", .url = base_url + "/t/post-reset"}), http::RequestError);
        CHECK(seen("/t/post-reset").size() == 1);
    }
    // Not retried because the classifier says so: a permanent failure, no retry event.
    REQUIRE(rec.failures.size() == 1);
    CHECK(rec.failures[0].klass == redress::ErrorClass::Permanent);
    CHECK(rec.named(redress::EventName::Retry).empty());
    CHECK(rec.named(redress::EventName::PermanentFail).size() == 1);
}

TEST_CASE("a PATCH cut by the attempt timeout is not sent again") {
    // The policy counts the cut transfer as a late answer (its own AttemptTimeoutError): the
    // classifier still knows the request must not be repeated.
    script("/t/patch-slow", R"([{"delay": 2}])");
    Recorder rec;
    const auto policy = make_policy(rec, {.attempt_timeout = 300ms});

    const auto start = std::chrono::steady_clock::now();
    CHECK_THROWS(http::perform(policy, {.method = "PATCH", .url = base_url + "/t/patch-slow", .body = "x"}));
    const double took = seconds_since(start);

    CHECK(took < 1.5);
    CHECK(seen("/t/patch-slow").size() == 1);
    REQUIRE(rec.failures.size() == 1);
    CHECK(rec.failures[0].klass == redress::ErrorClass::Permanent);
    CHECK(rec.named(redress::EventName::Retry).empty());
}

TEST_CASE("a POST with an idempotency key is retried, the same key on every attempt") {
    script("/t/post-key", R"([{"status": 503}, {"action": "reset"}, {"status": 201, "body": "created"}])");
    Recorder rec;
    const auto policy = make_policy(rec);

    const http::Response r = http::perform(
        policy, {.method = "POST",
                 .url = base_url + "/t/post-key",
                 .headers = {{"Content-Type", "application/json"}, {"Idempotency-Key", "order-17-3f9c"}},
                 .body = R"({"item": 17})"});

    CHECK(r.status == 201);
    CHECK(r.body == "created");
    using Seen = std::vector<std::pair<std::string, std::string>>;
    CHECK(seen("/t/post-key", "idempotency-key") ==
          Seen{{"POST", "order-17-3f9c"}, {"POST", "order-17-3f9c"}, {"POST", "order-17-3f9c"}});
}

TEST_CASE("with generate_idempotency_key a POST gets one random key, sent unchanged on every attempt") {
    script("/t/post-generated", R"([{"status": 503}, {"action": "reset"}, {"status": 201, "body": "created"}])");
    script("/t/post-generated-2", R"([{"status": 201}])");
    Recorder rec;
    const auto policy = make_policy(rec);
    const http::Options options{.generate_idempotency_key = true};

    const http::Response r =
        http::perform(policy, {.method = "POST", .url = base_url + "/t/post-generated", .body = "{}"}, options);
    CHECK(r.status == 201);
    const auto sent = seen("/t/post-generated", "idempotency-key");
    REQUIRE(sent.size() == 3);
    const std::string key = sent[0].second;
    CHECK(key.size() == 36);
    CHECK(key[14] == '4');  // a UUID version 4
    for (const auto& [method, value] : sent) {
        CHECK(method == "POST");
        CHECK(value == key);
    }
    // Another request, another key; a request that has its own key keeps it.
    (void)http::perform(policy, {.method = "POST", .url = base_url + "/t/post-generated-2"}, options);
    const auto other = seen("/t/post-generated-2", "idempotency-key");
    REQUIRE(other.size() == 1);
    CHECK(other[0].second.size() == 36);
    CHECK(other[0].second != key);
    CHECK_THROWS_AS(http::perform(policy, {.url = base_url + "/t/x"}, {.idempotency_header = "", .generate_idempotency_key = true}),
                    redress::InvalidOption);
}

TEST_CASE("a POST marked idempotent is retried without a key") {
    script("/t/post-marked", R"([{"status": 502}])");
    Recorder rec;
    const auto policy = make_policy(rec);

    const http::Response r =
        http::perform(policy, {.method = "POST", .url = base_url + "/t/post-marked", .idempotent = true});

    CHECK(r.status == 200);
    CHECK(seen("/t/post-marked").size() == 2);
}

TEST_CASE("a POST to a port nobody listens on is retried: it never left") {
    const int closed_port = redress::it::free_loopback_port();
    Recorder rec;
    const auto policy = make_policy(rec, {.max_attempts = 3});

    try {
        http::perform(policy, {.method = "POST", .url = "http://127.0.0.1:" + std::to_string(closed_port) + "/x"});
        FAIL("nothing listens, yet the POST succeeded");
    } catch (const http::RequestError& e) {
        CHECK(e.curl_code() == CURLE_COULDNT_CONNECT);
        CHECK(e.may_retry());
    }
    CHECK(rec.failures.size() == 3);
    CHECK(rec.named(redress::EventName::MaxAttemptsExceeded).size() == 1);
}

TEST_CASE("a failed attempt's body never reaches the response") {
    script("/t/bodies", R"([{"action": "partial", "status": 200, "body": "PARTIAL-FIRST"},
                            {"status": 503, "body": "FAILED-SECOND"},
                            {"body": "good"}])");
    Recorder rec;
    const auto policy = make_policy(rec);

    const http::Response r = http::perform(policy, {.url = base_url + "/t/bodies"});

    CHECK(r.status == 200);
    CHECK(r.body == "good");
    CHECK(seen("/t/bodies").size() == 3);
    REQUIRE(rec.failures.size() == 2);
    CHECK(rec.failures[0].klass == redress::ErrorClass::Transient);  // reset mid-body
    CHECK(rec.failures[1].klass == redress::ErrorClass::ServerError);
}

TEST_CASE("a failure's own response rides on its error") {
    script("/t/404", R"([{"status": 404, "headers": {"X-Trace": "abc"}, "body": "no such item"}])");
    Recorder rec;
    const auto policy = make_policy(rec);

    try {
        http::perform(policy, {.url = base_url + "/t/404"});
        FAIL("the 404 was not thrown");
    } catch (const http::RequestError& e) {
        CHECK(e.curl_code() == CURLE_HTTP_RETURNED_ERROR);
        CHECK(e.http_status() == 404);
        CHECK(e.response().body == "no such item");
        CHECK(e.response().header("x-trace") == "abc");
        CHECK(e.may_retry());  // a GET: the 404 is simply Permanent
    }
    CHECK(seen("/t/404").size() == 1);
    REQUIRE(rec.failures.size() == 1);
    CHECK(rec.failures[0].klass == redress::ErrorClass::Permanent);
}

TEST_CASE("methods are sent as written, bodies with them") {
    Recorder rec;
    const auto policy = make_policy(rec);
    script("/t/methods", "[]");

    CHECK(http::perform(policy, {.method = "HEAD", .url = base_url + "/t/methods"}).body.empty());
    CHECK(http::perform(policy, {.method = "PUT", .url = base_url + "/t/methods", .body = "v"}).body == "ok");
    CHECK(http::perform(policy, {.method = "DELETE", .url = base_url + "/t/methods"}).body == "ok");
    CHECK(http::perform(policy, {.method = "OPTIONS", .url = base_url + "/t/methods"}).body == "ok");

    using Seen = std::vector<std::pair<std::string, std::string>>;
    CHECK(seen("/t/methods", "content-length") == Seen{{"HEAD", ""}, {"PUT", "1"}, {"DELETE", ""}, {"OPTIONS", ""}});
}

TEST_CASE("a stop request ends a running transfer") {
    script("/t/stop", R"([{"delay": 3}])");
    Recorder rec;
    const auto policy = make_policy(rec);
    std::stop_source stop;

    const auto start = std::chrono::steady_clock::now();
    std::jthread stopper([&] {
        std::this_thread::sleep_for(200ms);
        stop.request_stop();
    });
    CHECK_THROWS_AS(http::perform(policy, {.url = base_url + "/t/stop"}, {}, {.stop_token = stop.get_token()}),
                    redress::AbortRetryError);
    const double took = seconds_since(start);

    CHECK(took < 2.0);  // libcurl's progress callback runs at least once a second
    CHECK(seen("/t/stop").size() == 1);
    CHECK(rec.named(redress::EventName::Aborted).size() == 1);
}

TEST_CASE("invalid requests and options throw InvalidOption naming them, before any attempt") {
    Recorder rec;
    const auto policy = make_policy(rec);
    const auto option_of = [&](const http::Request& request, const http::Options& options = {}) -> std::string {
        try {
            (void)http::perform(policy, request, options);
        } catch (const redress::InvalidOption& e) {
            return std::string(e.component()) + "::" + std::string(e.option());
        }
        return "nothing thrown";
    };
    const std::string url = base_url + "/t/invalid";
    script("/t/invalid", "[]");

    CHECK(option_of({.url = ""}) == "curl::Request::url");
    CHECK(option_of({.method = "GE T", .url = url}) == "curl::Request::method");
    CHECK(option_of({.url = url, .headers = {{"X-A", "1\r\nX-Injected: 2"}}}) == "curl::Request::headers");
    CHECK(option_of({.url = url, .headers = {{"Bad Name", "1"}}}) == "curl::Request::headers");
    CHECK(option_of({.url = url}, {.idempotency_header = "Key:"}) == "curl::Options::idempotency_header");
    CHECK(option_of({.url = url}, {.connect_timeout = 0ms}) == "curl::Options::connect_timeout");
    CHECK(seen("/t/invalid").empty());
    CHECK(rec.events.empty());
}

#ifdef REDRESS_CURL_EXAMPLE
TEST_CASE("the example runs against the server and the server saw what it says") {
    script("/inventory", R"([{"status": 503}, {"status": 429, "headers": {"Retry-After": "1"}},
                             {"body": "{\"widgets\": 12}"}])");
    script("/orders", R"([{"status": 503}, {"status": 201, "body": "{\"order\": 1}"}])");
    script("/payments", R"([{"status": 503, "body": "try later"}])");
    redress::it::TempDir dir("redress-curl-example");
    const std::string log = (dir.path() / "example.log").string();

    const int status = redress::it::run({REDRESS_CURL_EXAMPLE, base_url}, {.log_file = log});

    std::ifstream output(log);
    const std::string printed((std::istreambuf_iterator<char>(output)), std::istreambuf_iterator<char>());
    std::printf("--- the example's output ---\n%s", printed.c_str());
    INFO(printed);
    CHECK(status == 0);
    CHECK(seen("/inventory").size() == 3);
    using Seen = std::vector<std::pair<std::string, std::string>>;
    CHECK(seen("/orders", "idempotency-key") == Seen{{"POST", "order-7f3a"}, {"POST", "order-7f3a"}});
    CHECK(seen("/payments").size() == 1);
}
#endif

int main(int argc, char** argv) {
    const auto python = redress::it::find_program({"python3"});
    if (!python) redress::it::skip("python3 is not installed: the scripted HTTP server is a Python 3 program");
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int result = 1;
    {
        redress::it::TempDir dir("redress-curl-it");
        const int port = redress::it::free_loopback_port();
        redress::it::Process server({*python, REDRESS_CURL_SERVER, std::to_string(port)},
                                    {.log_file = (dir.path() / "server.log").string(), .grace = 1000ms});
        redress::it::wait_for_port(port, 10s, &server);
        base_url = "http://127.0.0.1:" + std::to_string(port);
        result = redress_test::run_catch(argc, argv);
        if (result != 0) std::printf("--- the server's log ---\n%s\n", server.log().c_str());
    }
    curl_global_cleanup();
    return result;
}
