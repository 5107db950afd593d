// FramePool: an opt-in, per-thread cache of freed coroutine frames. A program that starts
// many short coroutines of a few sizes on one thread (the storm simulator) installs one for a
// run; `Task`'s frames (and `Detached`'s) are then taken from it and given back to it instead
// of malloc and free. Without a pool installed a frame costs one thread-local load and a
// branch more than plain `new`.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>

namespace redress::detail {

#if defined(__SANITIZE_ADDRESS__)
#define REDRESS_FRAME_POOL_ENABLED 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define REDRESS_FRAME_POOL_ENABLED 0
#endif
#endif
#ifndef REDRESS_FRAME_POOL_ENABLED
#define REDRESS_FRAME_POOL_ENABLED 1  // off under AddressSanitizer: a reused frame would hide a use-after-free
#endif

/// Free lists of frames by exact size: every block is a plain `::operator new(size)` block, so
/// a frame may be freed to any pool, or to none (another thread, after the pool is gone) and
/// still go where it belongs. Frames of more distinct sizes than it has lists bypass it.
/// Single-threaded: install it on the thread that uses it (`FramePoolScope`).
class FramePool {
public:
    /// What the pool did: the evidence that frames are reused.
    struct Counters {
        std::uint64_t reused = 0;  ///< frames served from a free list
        std::uint64_t fresh = 0;   ///< frames the pool had to allocate
        std::uint64_t kept = 0;    ///< freed frames put on a free list
    };

    FramePool() = default;
    FramePool(const FramePool&) = delete;
    FramePool& operator=(const FramePool&) = delete;
    ~FramePool() {
        for (auto& list : lists_) {
            while (Block* b = list.head) {
                list.head = b->next;
                ::operator delete(b, list.size);
            }
        }
    }

    /// A block of `size` bytes: a freed one of that size if there is one.
    [[nodiscard]] void* allocate(std::size_t size) {
        if (List* list = find(size); list != nullptr && list->head != nullptr) {
            ++counters_.reused;
            return std::exchange(list->head, list->head->next);
        }
        ++counters_.fresh;
        return ::operator new(size);
    }

    /// Keeps `p` (a block of `size` bytes) for the next frame of that size.
    void deallocate(void* p, std::size_t size) noexcept {
        List* list = find(size);
        if (list == nullptr) {
            ::operator delete(p, size);
            return;
        }
        ++counters_.kept;
        list->head = ::new (p) Block{list->head};
    }

    /// What the pool did so far.
    [[nodiscard]] const Counters& counters() const noexcept { return counters_; }

private:
    struct Block {
        Block* next;
    };
    struct List {
        std::size_t size = 0;  // 0: unused
        Block* head = nullptr;
    };

    /// The list of `size`, claiming an unused one; null when all are taken by other sizes.
    List* find(std::size_t size) noexcept {
        for (auto& list : lists_) {
            if (list.size == size) return &list;
            if (list.size == 0) {
                list.size = size;
                return &list;
            }
        }
        return nullptr;
    }

    std::array<List, 8> lists_{};  // a driver, its requests and sleeps: a handful of sizes
    Counters counters_;
};

/// The calling thread's installed pool, if any.
inline thread_local FramePool* current_frame_pool = nullptr;

/// Installs `pool` on the calling thread for the life of the scope (restoring the previous one).
/// The pool must outlive the scope; frames still alive when it goes are freed to the heap.
class FramePoolScope {
public:
    explicit FramePoolScope(FramePool& pool) noexcept : previous_(std::exchange(current_frame_pool, &pool)) {}
    FramePoolScope(const FramePoolScope&) = delete;
    FramePoolScope& operator=(const FramePoolScope&) = delete;
    ~FramePoolScope() { current_frame_pool = previous_; }

private:
    FramePool* previous_;
};

/// A promise's allocation functions: frames come from the thread's pool when one is installed.
struct PooledFrame {
    static void* operator new(std::size_t size) {
#if REDRESS_FRAME_POOL_ENABLED
        if (FramePool* pool = current_frame_pool) return pool->allocate(size);
#endif
        return ::operator new(size);
    }
    static void operator delete(void* p, std::size_t size) noexcept {
#if REDRESS_FRAME_POOL_ENABLED
        if (FramePool* pool = current_frame_pool) {
            pool->deallocate(p, size);
            return;
        }
#endif
        ::operator delete(p, size);
    }
};

}  // namespace redress::detail
