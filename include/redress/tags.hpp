// Tags: a few key=value pairs (a trace id, a tenant) that a call, or a policy, attaches to
// every event it emits, so logs and metrics can be joined to traces (docs/observability.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

namespace redress {

/// One key=value pair. The views point into the `Tags` that holds it.
struct Tag {
    std::string_view key{};    ///< an identifier: `[A-Za-z_][A-Za-z0-9_]*`
    std::string_view value{};  ///< any text

    friend bool operator==(const Tag& a, const Tag& b) noexcept { return a.key == b.key && a.value == b.value; }
};

/// Up to `max_tags` pairs whose keys and values add up to at most `max_chars` characters, held
/// inline: copying, building and reading never allocate, and a copy owns its text (a `Tags`
/// never refers to the strings it was built from). Keys are identifiers (`[A-Za-z_][A-Za-z0-9_]*`,
/// what log and metrics systems accept as a field name); values are any text. Setting a key
/// again replaces its value. Too many tags, too much text or a bad key throws `InvalidOption`.
class Tags {
public:
    /// The most pairs one `Tags` holds.
    static constexpr std::size_t max_tags = 8;
    /// The most characters of keys and values together.
    static constexpr std::size_t max_chars = 256;

    Tags() = default;
    /// `{{"trace_id", id}, {"tenant", "acme"}}`.
    Tags(std::initializer_list<Tag> tags);
    /// A copy that owns its text (its views point into itself).
    Tags(const Tags& other);
    /// Copies `other`'s pairs and text.
    Tags& operator=(const Tags& other);
    ~Tags() = default;

    /// Adds `key=value`, or replaces the value of `key`.
    void set(std::string_view key, std::string_view value);

    /// Sets every pair of `other` here (`other` wins on a shared key).
    void merge(const Tags& other);

    /// The value of `key`, or an empty view when it is not set.
    [[nodiscard]] std::string_view get(std::string_view key) const noexcept;

    /// The number of pairs.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// True when there is no pair.
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// The pairs, in the order they were first set; views into this object.
    [[nodiscard]] std::span<const Tag> view() const noexcept { return {items_.data(), size_}; }
    /// The first pair.
    [[nodiscard]] const Tag* begin() const noexcept { return items_.data(); }
    /// Past the last pair.
    [[nodiscard]] const Tag* end() const noexcept { return items_.data() + size_; }

    friend bool operator==(const Tags& a, const Tags& b) noexcept {
        if (a.size_ != b.size_) return false;
        for (std::size_t i = 0; i < a.size_; ++i)
            if (!(a.items_[i] == b.items_[i])) return false;
        return true;
    }

private:
    static void check_key(std::string_view key);
    void append(std::string_view key, std::string_view value);
    void assign(const Tags& other);

    std::array<Tag, max_tags> items_{};
    std::array<char, max_chars> text_{};
    std::size_t used_ = 0;
    std::size_t size_ = 0;
};

}  // namespace redress

#if !defined(REDRESS_SEPARATE_COMPILATION)
#include <redress/impl/tags.hpp>
#endif
