// User tags: the policy names its downstream, each call adds its trace id and tenant, and every
// event carries both, so a log line or a metric can be joined to the trace.
#include <cstdio>
#include <string>
#include <vector>

#include <redress/redress.hpp>

using namespace std::chrono_literals;

int main() {
    std::vector<std::string> lines;
    auto log = [&](const redress::Event& e) {
        std::string line(redress::to_string(e.name));
        for (const redress::Tag& tag : e.tags) line += " " + std::string(tag.key) + "=" + std::string(tag.value);
        std::printf("%s\n", line.c_str());
        lines.push_back(line);
    };

    // snippet-begin: tags
    redress::Policy policy{redress::Retry{
        .strategy = redress::constant(1ms),
        .on_log = log,
        .tags = {{"downstream", "payments"}},  // on every event of every call
    }};

    const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";  // from the incoming request
    int calls = 0;
    policy.call(
        [&] {
            if (++calls < 2) throw redress::ServerError("503");
        },
        {.operation = "charge", .tags = {{"trace_id", trace_id}, {"tenant", "acme"}}});
    // retry downstream=payments trace_id=4bf92f3577b34da6a3ce929d0e0e4736 tenant=acme
    // success downstream=payments trace_id=4bf92f3577b34da6a3ce929d0e0e4736 tenant=acme
    // snippet-end: tags

    const std::string tags = " downstream=payments trace_id=" + trace_id + " tenant=acme";
    return lines == std::vector<std::string>{"retry" + tags, "success" + tags} ? 0 : 1;
}
