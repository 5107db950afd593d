// PrometheusSink shared between threads: exact counts afterwards, one slot per name however
// many threads claim it at once, and rendering while events arrive (run under
// ThreadSanitizer in CI).
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <latch>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <redress/contrib/prometheus.hpp>

using redress::ErrorClass;
using redress::EventName;
using redress::StopReason;
using redress::contrib::PrometheusSink;

namespace {

using Samples = std::map<std::string, std::uint64_t>;

Samples samples(const std::string& text) {
    Samples out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.empty() || line[0] == '#') continue;
        const auto space = line.rfind(' ');
        out[line.substr(0, space)] = std::stoull(line.substr(space + 1));
    }
    return out;
}

std::string events_series(const std::string& op, EventName e, const ErrorClass* klass) {
    std::string s = "redress_events_total{operation=\"" + op + "\",event=\"" + std::string(redress::to_string(e)) + "\"";
    if (klass) s += ",class=\"" + std::string(redress::to_string(*klass)) + "\"";
    return s + "}";
}

// The histograms of one rendering are consistent: buckets never decrease and +Inf equals _count.
bool histograms_consistent(const Samples& s) {
    std::map<std::string, std::vector<std::uint64_t>> buckets;  // operation label -> bucket values in le order
    for (const auto& [series, value] : s) {
        if (series.rfind("redress_operation_attempts_bucket", 0) != 0) continue;
        const auto le = series.find(",le=\"");
        const std::string op = series.substr(0, le);
        const std::string bound = series.substr(le + 5, series.size() - le - 7);
        auto& v = buckets[op];
        v.resize(3);
        v[bound == "1" ? 0 : bound == "2" ? 1 : 2] = value;  // bounds {1, 2} and +Inf
    }
    for (const auto& [op, v] : buckets) {
        const std::string count = "redress_operation_attempts_count" + op.substr(op.find('{')) + "}";
        if (!(v[0] <= v[1] && v[1] <= v[2]) || !s.contains(count) || s.at(count) != v[2]) return false;
    }
    return true;
}

}  // namespace

TEST_CASE("prometheus sink: four threads counting their own operations give exact counts, while a fifth renders throughout") {
    constexpr int threads = 4;
    constexpr int per_thread = 20'000;
    constexpr int ops_per_thread = 5;
    PrometheusSink metrics({.attempt_buckets = {1, 2}});
    // What each worker sent, by (thread, operation, class, outcome, attempts): a tally kept
    // apart from the sink, turned into the expected series after the run.
    using Tally = std::array<std::array<std::array<std::array<std::uint64_t, 4>, 2>, 2>, static_cast<std::size_t>(ops_per_thread)>;
    std::vector<Tally> sent(static_cast<std::size_t>(threads), Tally{});
    std::atomic<int> running{threads};
    std::latch start(threads + 1);

    const auto worker = [&](int t) {
        std::vector<std::string> ops;
        for (int k = 0; k < ops_per_thread; ++k) ops.push_back("t" + std::to_string(t) + "-op" + std::to_string(k));
        Tally& tally = sent[static_cast<std::size_t>(t)];
        start.arrive_and_wait();
        for (int i = 0; i < per_thread; ++i) {
            const int k = i % ops_per_thread;
            const int c = i % 3 == 0 ? 0 : 1;  // the retried failure's class: Transient or RateLimit
            const ErrorClass klass = c == 0 ? ErrorClass::Transient : ErrorClass::RateLimit;
            const int attempts = 1 + i % 3;
            const int failed = i % 2;
            metrics({.name = EventName::Retry, .attempt = 1, .error_class = klass, .operation = ops[static_cast<std::size_t>(k)]});
            if (failed == 0)
                metrics({.name = EventName::Success, .attempt = attempts, .operation = ops[static_cast<std::size_t>(k)]});
            else
                metrics({.name = EventName::MaxAttemptsExceeded, .attempt = attempts, .error_class = klass,
                         .stop_reason = StopReason::MaxAttemptsGlobal, .operation = ops[static_cast<std::size_t>(k)]});
            ++tally[static_cast<std::size_t>(k)][static_cast<std::size_t>(c)][static_cast<std::size_t>(failed)]
                   [static_cast<std::size_t>(attempts)];
        }
        running.fetch_sub(1);
    };

    int renderings = 0;
    bool consistent = true;
    bool monotonic = true;
    std::thread renderer([&] {
        Samples previous;
        start.arrive_and_wait();
        do {  // stops by itself once the workers are done
            const Samples now = samples(metrics.render());
            consistent = consistent && histograms_consistent(now);
            for (const auto& [series, value] : previous) monotonic = monotonic && now.contains(series) && now.at(series) >= value;
            previous = now;
            ++renderings;
        } while (running.load() > 0);
    });
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) workers.emplace_back(worker, t);
    for (auto& w : workers) w.join();
    renderer.join();

    Samples all;
    for (int t = 0; t < threads; ++t) {
        for (int k = 0; k < ops_per_thread; ++k) {
            const std::string op = "t" + std::to_string(t) + "-op" + std::to_string(k);
            const std::string labels = "{operation=\"" + op + "\"";
            for (std::size_t c = 0; c < 2; ++c) {
                const ErrorClass klass = c == 0 ? ErrorClass::Transient : ErrorClass::RateLimit;
                for (std::size_t failed = 0; failed < 2; ++failed) {
                    for (std::size_t attempts = 1; attempts <= 3; ++attempts) {
                        const std::uint64_t n = sent[static_cast<std::size_t>(t)][static_cast<std::size_t>(k)][c][failed][attempts];
                        if (n == 0) continue;
                        all[events_series(op, EventName::Retry, &klass)] += n;
                        if (failed == 0) {
                            all[events_series(op, EventName::Success, nullptr)] += n;
                        } else {
                            all[events_series(op, EventName::MaxAttemptsExceeded, &klass)] += n;
                            all["redress_stops_total" + labels + ",stop_reason=\"MAX_ATTEMPTS_GLOBAL\"}"] += n;
                        }
                        if (attempts <= 1) all["redress_operation_attempts_bucket" + labels + ",le=\"1\"}"] += n;
                        if (attempts <= 2) all["redress_operation_attempts_bucket" + labels + ",le=\"2\"}"] += n;
                        all["redress_operation_attempts_bucket" + labels + ",le=\"+Inf\"}"] += n;
                        all["redress_operation_attempts_count" + labels + "}"] += n;
                        all["redress_operation_attempts_sum" + labels + "}"] += n * attempts;
                    }
                }
            }
        }
    }
    CHECK(samples(metrics.render()) == all);
    CHECK(metrics.operations() == threads * ops_per_thread);
    CHECK(renderings >= 1);
    CHECK(consistent);
    CHECK(monotonic);
}

TEST_CASE("prometheus sink: threads claiming the same new operation names at once get one slot per name") {
    constexpr int threads = 4;
    constexpr int names = 50;
    constexpr int rounds = 100;
    PrometheusSink metrics;
    std::latch start(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            std::vector<std::string> order;
            for (int n = 0; n < names; ++n) order.push_back("shared-" + std::to_string(n));
            std::shuffle(order.begin(), order.end(), std::mt19937(static_cast<unsigned>(t)));
            start.arrive_and_wait();
            for (int r = 0; r < rounds; ++r)
                for (const auto& op : order) metrics({.name = EventName::Success, .attempt = 1, .operation = op});
        });
    for (auto& w : workers) w.join();

    CHECK(metrics.operations() == names);
    Samples expected;
    for (int n = 0; n < names; ++n)
        expected[events_series("shared-" + std::to_string(n), EventName::Success, nullptr)] = threads * rounds;
    Samples events;
    for (const auto& [series, value] : samples(metrics.render()))
        if (series.rfind("redress_events_total", 0) == 0) events[series] = value;
    CHECK(events == expected);
}

TEST_CASE("prometheus sink: with more names than max_operations, each name keeps one series and the rest is counted under other") {
    constexpr int threads = 4;
    constexpr int names_per_thread = 10;
    constexpr int per_name = 500;
    constexpr std::size_t max_operations = 8;
    PrometheusSink metrics({.max_operations = max_operations});
    std::latch start(threads);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&, t] {
            start.arrive_and_wait();
            for (int i = 0; i < names_per_thread * per_name; ++i)
                metrics({.name = EventName::Success, .attempt = 1,
                         .operation = "n" + std::to_string(t) + "-" + std::to_string(i % names_per_thread)});
        });
    for (auto& w : workers) w.join();

    CHECK(metrics.operations() == max_operations);
    std::uint64_t named = 0;
    std::uint64_t other = 0;
    std::size_t series = 0;
    for (const auto& [s, value] : samples(metrics.render())) {
        if (s.rfind("redress_events_total", 0) != 0) continue;
        ++series;
        if (s == events_series("other", EventName::Success, nullptr)) {
            other = value;
        } else {
            CHECK(value == per_name);  // a name is never split between its slot and other
            named += value;
        }
    }
    CHECK(series == max_operations + 1);
    CHECK(named == max_operations * per_name);
    CHECK(other == (threads * names_per_thread - max_operations) * per_name);
}
