// <redress/impl/outcome.hpp>: the definitions <redress/outcome.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/detail/attributes.hpp>
#include <redress/outcome.hpp>

namespace redress {

REDRESS_DECL Tags RetryTimeline::tags_of(const Event& e) {
    Tags t;
    for (const Tag& tag : e.tags) t.set(tag.key, tag.value);
    return t;
}

REDRESS_DECL void RetryTimeline::record(const Event& e, Duration elapsed) {
    events.push_back(TimelineEvent{e.name, e.attempt, e.sleep, elapsed, e.error_class, std::string(e.error_type),
                                   e.stop_reason, e.cause, e.state, e.retry_after, std::string(e.operation),
                                   tags_of(e), e.trigger, e.in_flight});
}

namespace detail {

REDRESS_DECL std::shared_ptr<RetryTimeline> fresh_timeline() { return std::make_shared<RetryTimeline>(); }

REDRESS_DECL void record_timeline(RetryTimeline& timeline, const Event& e, Duration elapsed) {
    timeline.record(e, elapsed);
}

REDRESS_DECL const TimelineOps* enabled_timeline_ops() noexcept {
    static constexpr TimelineOps ops{&fresh_timeline, &record_timeline};
    return &ops;
}

}  // namespace detail
}  // namespace redress
