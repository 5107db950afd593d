// Tags: key=value pairs a call and a policy attach to every event of the call, held inline
// (no allocation, copies own their text), merged with the call's winning, on every driver.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <redress/redress.hpp>
#include <redress/testing.hpp>

using namespace std::chrono_literals;
using redress::Tag;
using redress::Tags;

namespace {

using TagMap = std::map<std::string, std::string>;

TagMap to_map(std::span<const Tag> tags) {
    TagMap m;
    for (const Tag& t : tags) m.emplace(std::string(t.key), std::string(t.value));
    return m;
}

/// Every event's name and tags.
struct Seen {
    std::vector<std::string> names;
    std::vector<TagMap> tags;
    redress::EventHook hook() {
        return [this](const redress::Event& e) {
            names.emplace_back(redress::to_string(e.name));
            tags.push_back(to_map(e.tags));
        };
    }
};

}  // namespace

TEST_CASE("Tags: set, replace, get, the order is the order keys were first set") {
    Tags t{{"trace_id", "abc"}, {"tenant", "acme"}};
    t.set("tenant", "globex");
    CHECK(t.size() == 2);
    CHECK(t.get("tenant") == "globex");
    CHECK(t.get("trace_id") == "abc");
    CHECK(t.get("missing").empty());
    std::vector<std::string> keys;
    for (const Tag& tag : t) keys.emplace_back(tag.key);
    CHECK(keys == std::vector<std::string>{"trace_id", "tenant"});
}

TEST_CASE("Tags: a copy owns its text, the strings it was built from may die") {
    auto make = [] {
        const std::string key = "trace_id";
        const std::string value = std::string(40, 'x');
        Tags t;
        t.set(key, value);
        return t;  // key and value die here
    };
    const Tags a = make();
    Tags b;
    b = a;
    const Tags c(b);
    CHECK(c.get("trace_id") == std::string(40, 'x'));
    CHECK(c == a);
    // The views point into each object's own storage.
    CHECK(c.view()[0].value.data() != a.view()[0].value.data());
}

TEST_CASE("Tags: too many tags, too much text or a key that is not an identifier is an InvalidOption naming it") {
    Tags t;
    for (std::size_t i = 0; i < Tags::max_tags; ++i) t.set("k" + std::to_string(i), "v");
    CHECK_THROWS_WITH(t.set("one_more", "v"), Catch::Contains("Tags::size") && Catch::Contains("at most 8"));
    CHECK_NOTHROW(t.set("k0", "replaced"));  // replacing is not adding
    Tags big;
    CHECK_THROWS_WITH(big.set("blob", std::string(Tags::max_chars, 'x')), Catch::Contains("Tags::text"));
    for (const char* bad : {"", "1abc", "trace-id", "a b", "tenant="}) {
        INFO("key '" << bad << "'");
        try {
            Tags{{bad, "v"}};
            FAIL("accepted");
        } catch (const redress::InvalidOption& e) {
            CHECK(e.option() == "key");
        }
    }
}

TEST_CASE("tags: every event of a call carries the policy's and the call's tags, the call winning on a shared key") {
    redress::testing::ManualClock clock;
    Seen seen;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1s),
                                          .sleeper = redress::testing::AdvancingSleeper(clock),
                                          .clock = clock,
                                          .on_metric = seen.hook(),
                                          .tags = {{"service", "billing"}, {"region", "eu"}}}};
    int calls = 0;
    CHECK(policy.call(
              [&] {
                  if (++calls < 3) throw redress::ServerError("503");
                  return 1;
              },
              {.operation = "charge", .tags = {{"trace_id", "t-1"}, {"region", "us"}}}) == 1);
    CHECK(seen.names == std::vector<std::string>{"retry", "retry", "success"});
    for (const auto& t : seen.tags) CHECK(t == TagMap{{"service", "billing"}, {"region", "us"}, {"trace_id", "t-1"}});

    // Only the policy's; then only the call's.
    seen = {};
    policy.call([] { return 0; }, {.on_metric = seen.hook()});
    CHECK(seen.tags == std::vector<TagMap>{{{"service", "billing"}, {"region", "eu"}}});
    redress::Policy plain{redress::Retry{.strategy = redress::constant(1s)}};
    seen = {};
    plain.call([] { return 0; }, {.tags = {{"tenant", "acme"}}, .on_metric = seen.hook()});
    CHECK(seen.tags == std::vector<TagMap>{{{"tenant", "acme"}}});
}

TEST_CASE("tags: breaker events and terminal failures carry them too") {
    redress::testing::ManualClock clock;
    Seen seen;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1s),
                                          .max_attempts = 1,
                                          .sleeper = redress::testing::AdvancingSleeper(clock),
                                          .clock = clock},
                           redress::CircuitBreaker{{.failure_threshold = 1, .clock = clock}}};
    const redress::CallOptions options{.tags = {{"tenant", "acme"}}, .on_metric = seen.hook()};
    (void)policy.execute([]() -> int { throw redress::ServerError("503"); }, options);
    (void)policy.execute([] { return 1; }, options);  // rejected
    CHECK(seen.names == std::vector<std::string>{"max_attempts_exceeded", "circuit_opened", "circuit_rejected"});
    for (const auto& t : seen.tags) CHECK(t == TagMap{{"tenant", "acme"}});
}

TEST_CASE("tags: a lazy Task owns its tags, the caller's strings may die before it runs") {
    redress::testing::ManualClock clock;
    Seen seen;
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1s), .clock = clock}};
    redress::testing::VirtualScheduler loop{clock};
    auto task = [&] {
        std::string trace = "trace-" + std::string(30, '7');  // dies when this lambda returns
        return policy.async_execute([]() -> redress::Task<int> { co_return 3; },
                                    {.tags = {{"trace_id", trace}}, .on_metric = seen.hook()}, {.sleeper = loop.sleeper()});
    }();
    auto out = loop.run(std::move(task));
    CHECK(out.value == 3);
    CHECK(seen.tags == std::vector<TagMap>{{{"trace_id", "trace-" + std::string(30, '7')}}});
}

TEST_CASE("tags: a timeline keeps them and FakePolicy delivers them") {
    redress::Policy policy{redress::Retry{.strategy = redress::constant(1ms)}};
    auto out = policy.execute([] { return 1; }, {.tags = {{"tenant", "acme"}}, .capture_timeline = true});
    REQUIRE(out.timeline);
    REQUIRE(out.timeline->events.size() == 1);
    CHECK(out.timeline->events[0].tags.get("tenant") == "acme");

    redress::testing::FakePolicy fake;
    Seen seen;
    fake.call([] {}, {.tags = {{"tenant", "acme"}}, .on_metric = seen.hook()});
    CHECK(seen.tags == std::vector<TagMap>{{{"tenant", "acme"}}});
}
