// Tags: a few key=value pairs (a trace id, a tenant) that a call, or a policy, attaches to
// every event it emits, so logs and metrics can be joined to traces (docs/observability.md).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string_view>

#include <redress/detail/message.hpp>
#include <redress/errors.hpp>

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
    Tags(std::initializer_list<Tag> tags) {
        for (const Tag& t : tags) set(t.key, t.value);
    }
    /// A copy that owns its text (its views point into itself).
    Tags(const Tags& other) { assign(other); }
    /// Copies `other`'s pairs and text.
    Tags& operator=(const Tags& other) {
        if (this != &other) assign(other);
        return *this;
    }
    ~Tags() = default;

    /// Adds `key=value`, or replaces the value of `key`.
    void set(std::string_view key, std::string_view value) {
        check_key(key);
        for (std::size_t i = 0; i < size_; ++i) {
            if (items_[i].key == key) {
                // Rebuild without the old pair, then append the new one.
                Tags rest;
                for (std::size_t j = 0; j < size_; ++j)
                    if (j != i) rest.append(items_[j].key, items_[j].value);
                assign(rest);
                break;
            }
        }
        append(key, value);
    }

    /// Sets every pair of `other` here (`other` wins on a shared key).
    void merge(const Tags& other) {
        for (const Tag& t : other) set(t.key, t.value);
    }

    /// The value of `key`, or an empty view when it is not set.
    [[nodiscard]] std::string_view get(std::string_view key) const noexcept {
        for (std::size_t i = 0; i < size_; ++i)
            if (items_[i].key == key) return items_[i].value;
        return {};
    }

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
    static void check_key(std::string_view key) {
        const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
        bool ok = !key.empty() && letter(key.front());
        for (char c : key) ok = ok && (letter(c) || (c >= '0' && c <= '9'));
        if (!ok)
            detail::invalid_option("Tags", "key", detail::Message{} << "must be an identifier ([A-Za-z_][A-Za-z0-9_]*), not '"
                                                                    << key << "'");
    }

    void append(std::string_view key, std::string_view value) {
        if (size_ == max_tags)
            detail::invalid_option("Tags", "size", detail::Message{} << "must be at most " << static_cast<long long>(max_tags)
                                                                     << " tags (adding '" << key << "')");
        if (key.size() + value.size() > max_chars - used_)
            detail::invalid_option("Tags", "text", detail::Message{} << "must be at most " << static_cast<long long>(max_chars)
                                                                     << " characters of keys and values in all (adding '"
                                                                     << key << "')");
        char* k = text_.data() + used_;
        for (std::size_t i = 0; i < key.size(); ++i) k[i] = key[i];
        char* v = k + key.size();
        for (std::size_t i = 0; i < value.size(); ++i) v[i] = value[i];
        used_ += key.size() + value.size();
        items_[size_++] = Tag{{k, key.size()}, {v, value.size()}};
    }

    void assign(const Tags& other) {
        text_ = other.text_;
        used_ = other.used_;
        size_ = other.size_;
        for (std::size_t i = 0; i < size_; ++i) {
            const Tag& t = other.items_[i];
            items_[i] = Tag{{text_.data() + (t.key.data() - other.text_.data()), t.key.size()},
                            {text_.data() + (t.value.data() - other.text_.data()), t.value.size()}};
        }
    }

    std::array<Tag, max_tags> items_{};
    std::array<char, max_chars> text_{};
    std::size_t used_ = 0;
    std::size_t size_ = 0;
};

}  // namespace redress
