// Test support: records events and sleeps as compact strings, so a test can assert a whole
// event sequence in one comparison.
#pragma once

#include <chrono>
#include <exception>
#include <mutex>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

namespace redress_test {

/// "retry#1 sleep=100ms class=TRANSIENT" / "max_attempts_exceeded#3 class=TRANSIENT stop=MAX_ATTEMPTS_GLOBAL"
inline std::string describe(const redress::Event& e) {
    std::string s(redress::to_string(e.name));
    s += "#" + std::to_string(e.attempt);
    if (e.sleep != redress::Duration::zero())
        s += " sleep=" + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(e.sleep).count()) + "ms";
    if (e.error_class) s += " class=" + std::string(redress::to_string(*e.error_class));
    if (e.stop_reason) s += " stop=" + std::string(redress::to_string(*e.stop_reason));
    if (e.state) s += " state=" + std::string(redress::to_string(*e.state));
    if (e.trigger) s += " trigger=" + std::string(redress::to_string(*e.trigger));
    if (e.in_flight) s += " in_flight=" + std::to_string(*e.in_flight);
    return s;
}

/// A classifier that reads the class from the exception's message (`"RATE_LIMIT"`), so a
/// test scripts failure classes directly; anything else is `Unknown`.
struct MessageClassifier {
    redress::Classification operator()(const std::exception_ptr& ep) const {
        try {
            std::rethrow_exception(ep);
        } catch (const std::exception& e) {
            if (auto k = redress::parse<redress::ErrorClass>(e.what())) return {*k};
        } catch (...) {
        }
        return {redress::ErrorClass::Unknown};
    }
};

/// Collects events (thread-safe) and hands out the hook.
class Recorder {
public:
    redress::EventHook hook() {
        return [this](const redress::Event& e) {
            std::lock_guard lock(mutex_);
            lines_.push_back(describe(e));
            events_.push_back(e);
            operations_.emplace_back(e.operation);
            error_types_.emplace_back(e.error_type);
        };
    }
    std::vector<std::string> lines() const {
        std::lock_guard lock(mutex_);
        return lines_;
    }
    std::vector<redress::Event> events() const {
        std::lock_guard lock(mutex_);
        return events_;
    }
    std::vector<std::string> operations() const {
        std::lock_guard lock(mutex_);
        return operations_;
    }
    std::vector<std::string> error_types() const {
        std::lock_guard lock(mutex_);
        return error_types_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::string> lines_;
    std::vector<redress::Event> events_;  // string views inside are dangling after the call: use the copies
    std::vector<std::string> operations_;
    std::vector<std::string> error_types_;
};

/// A sleeper that advances a manual clock and records each requested sleep in ms.
struct RecordingSleeper {
    redress::testing::ManualClock clock;
    std::shared_ptr<std::vector<long long>> sleeps = std::make_shared<std::vector<long long>>();
    void operator()(redress::Duration d) const {
        sleeps->push_back(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
        clock.advance(d);
    }
};

/// Records the attempt hooks of the calls it is wired into, as "start#1", "end#2 success".
struct AttemptLog {
    std::vector<std::string> lines;
    void wire(redress::CallOptions& o) {
        o.on_attempt_start = [this](const redress::AttemptContext& c) { lines.push_back("start#" + std::to_string(c.attempt)); };
        o.on_attempt_end = [this](const redress::AttemptContext& c) {
            lines.push_back("end#" + std::to_string(c.attempt) + " " + std::string(redress::to_string(*c.decision)));
        };
    }
};

}  // namespace redress_test
