// TimerQueue: the event loop's timers in virtual time, soonest first, those due at the same
// instant in the order they were set. A calendar queue: taking or adding a timer costs a few
// dozen instructions however many are waiting, where a binary heap of thousands walked a dozen
// levels (a fifth of the storm benchmark's instructions).
#pragma once

#include <algorithm>
#include <bit>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <vector>

#include <redress/clock.hpp>

namespace redress::simulation::detail {

/// A coroutine to resume at `due`; `seq` orders the ones due at the same instant.
struct Timer {
    TimePoint due;
    std::uint64_t seq;
    std::coroutine_handle<> handle;
    std::coroutine_handle<> wakes;  // the frame that runs when `handle` resumes
    [[nodiscard]] bool before(const Timer& o) const noexcept { return due != o.due ? due < o.due : seq < o.seq; }
    bool operator>(const Timer& o) const noexcept { return o.before(*this); }
};

/// Timers in (due, seq) order, for a loop that never sets one before the last it took (virtual
/// time never goes back).
///
/// How: the next `slot_count` slots of `slot_width` each (about 17 s of virtual time) are a
/// wheel of unsorted lists; a timer due later waits in a heap until the wheel reaches it. Taking
/// a timer finds the next occupied slot through a bitmap and the least timer of that slot's
/// short list; a slot holds the timers of one slot width only, so lists stay short while a
/// second holds fewer than a few thousand events (the storm benchmark: 8,000 a second, about 4
/// per slot). Denser runs stay correct and cost a scan of the slot per timer taken.
class TimerQueue {
public:
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    /// Adds `t`; `t.due` must not be before the last timer taken.
    void push(const Timer& t) {
        ++size_;
        if (in_turn(t.due)) {
            const std::uint64_t slot = link(t);
            if (slot <= next_.slot) next_valid_ = false;  // sooner, or a new head of its list
        } else {
            later_.push(t);
            if (next_.from_later) next_valid_ = false;
        }
    }

    /// The soonest timer, removed (the queue must not be empty).
    Timer pop() {
        Found f = next_valid_ ? next_ : find();
        next_valid_ = false;
        if (f.slot != base_slot_) {
            advance_to(f.slot);
            // From the heap: it is on the wheel now. From the wheel: what moved onto it lies in
            // later slots, so `f` still stands.
            if (f.from_later) f = find();
        }
        const Timer t = nodes_[f.node].timer;
        unlink(f);
        --size_;
        return t;
    }

    /// The timer `pop()` will take next if nothing sooner is added first, or null when empty:
    /// a hint, for prefetching.
    [[nodiscard]] const Timer* next() noexcept {
        if (size_ == 0) return nullptr;
        next_ = find();  // kept for `pop()` until a push could change it
        next_valid_ = true;
        return next_.from_later ? &later_.top() : &nodes_[next_.node].timer;
    }

private:
    static constexpr unsigned slot_bits = 15;
    static constexpr std::size_t slot_count = std::size_t{1} << slot_bits;  // 32,768 slots
    static constexpr unsigned width_bits = 19;                              // 524 µs each
    static constexpr std::uint32_t none = UINT32_MAX;

    struct Node {
        Timer timer;
        std::uint32_t next;
    };
    /// Where the soonest timer is: slot `slot` (of the wheel's first turn, counted from
    /// `base_slot_`), node `node` and the node before it in the list, or the heap.
    struct Found {
        std::uint64_t slot;
        std::uint32_t node;
        std::uint32_t prev;
        bool from_later;
    };

    /// Due times as unsigned keys in the same order; slot numbers are keys >> width_bits.
    static std::uint64_t key_of(TimePoint due) noexcept {
        return static_cast<std::uint64_t>(due.time_since_epoch().count()) ^ (std::uint64_t{1} << 63);
    }
    /// `due` falls in the wheel's turn (it is never before the turn's start).
    [[nodiscard]] bool in_turn(TimePoint due) const noexcept {
        return (key_of(due) >> width_bits) - base_slot_ < slot_count;
    }

    /// Puts `t` on the wheel; returns its slot.
    std::uint64_t link(const Timer& t) {
        const std::uint64_t slot = key_of(t.due) >> width_bits;
        const auto i = static_cast<std::size_t>(slot & (slot_count - 1));
        if (free_ == none) grow();
        const std::uint32_t n = free_;
        Node& node = nodes_[n];
        free_ = node.next;
        node.timer = t;
        node.next = heads_[i];
        heads_[i] = n;
        occupied_[i / 64] |= std::uint64_t{1} << (i % 64);
        ++linked_;
        return slot;
    }

    /// Adds unused nodes (as many as there are, at least 64) to the free list. Out of line:
    /// inlined, `vector` growth made `link` save six registers and spill the timer (half its
    /// instructions).
    [[gnu::noinline]] void grow() {
        const std::size_t first = nodes_.size();
        const std::size_t added = std::max<std::size_t>(64, first);
        nodes_.resize(first + added);
        for (std::size_t k = first + added; k-- > first;) {
            nodes_[k].next = free_;
            free_ = static_cast<std::uint32_t>(k);
        }
    }

    void unlink(const Found& f) {
        const auto i = static_cast<std::size_t>(f.slot & (slot_count - 1));
        const std::uint32_t after = nodes_[f.node].next;
        if (f.prev == none) {
            heads_[i] = after;
            if (after == none) occupied_[i / 64] &= ~(std::uint64_t{1} << (i % 64));
        } else {
            nodes_[f.prev].next = after;
        }
        nodes_[f.node].next = free_;
        free_ = f.node;
        --linked_;
    }

    /// The first occupied slot of the wheel's turn (the wheel must hold a timer).
    [[nodiscard]] std::uint64_t next_occupied() const noexcept {
        constexpr std::size_t words = slot_count / 64;
        const auto start = static_cast<std::size_t>(base_slot_ & (slot_count - 1));
        std::size_t w = start / 64;
        std::uint64_t bits = occupied_[w] & (~std::uint64_t{0} << (start % 64));
        while (bits == 0) {  // back at the start word, only its slots before `start` can be set
            w = (w + 1) % words;
            bits = occupied_[w];
        }
        const std::size_t i = w * 64 + static_cast<std::size_t>(std::countr_zero(bits));
        return base_slot_ + ((i - start) & (slot_count - 1));
    }

    /// The soonest timer: the least of the first occupied slot, or the heap's top when the
    /// wheel is empty (every timer in the heap is due after the wheel's turn ends).
    [[nodiscard]] Found find() const noexcept {
        if (linked_ == 0) return Found{key_of(later_.top().due) >> width_bits, none, none, true};
        const std::uint64_t slot = next_occupied();
        const auto i = static_cast<std::size_t>(slot & (slot_count - 1));
        std::uint32_t best = heads_[i];
        std::uint32_t best_prev = none;
        for (std::uint32_t prev = best, n = nodes_[best].next; n != none; prev = n, n = nodes_[n].next) {
            if (nodes_[n].timer.before(nodes_[best].timer)) {
                best = n;
                best_prev = prev;
            }
        }
        return Found{slot, best, best_prev, false};
    }

    /// Turns the wheel to start at `slot` and moves the heap's timers now within its turn onto it.
    void advance_to(std::uint64_t slot) {
        base_slot_ = slot;
        while (!later_.empty() && in_turn(later_.top().due)) {
            link(later_.top());
            later_.pop();
        }
    }

    std::vector<Node> nodes_;
    std::vector<std::uint32_t> heads_ = std::vector<std::uint32_t>(slot_count, none);
    std::vector<std::uint64_t> occupied_ = std::vector<std::uint64_t>(slot_count / 64, 0);
    std::priority_queue<Timer, std::vector<Timer>, std::greater<>> later_;
    std::uint64_t base_slot_ = 0;  // the slot the wheel's first turn starts at
    std::uint32_t free_ = none;    // a list of unused nodes
    std::size_t linked_ = 0;       // timers on the wheel
    std::size_t size_ = 0;         // on the wheel and in the heap
    Found next_{};                 // what `next()` found, while `next_valid_`
    bool next_valid_ = false;
};

}  // namespace redress::simulation::detail
