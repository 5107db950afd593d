// <redress/impl/tags.hpp>: the definitions <redress/tags.hpp> declares.
// Included at the end of that header, or once, by <redress/impl/src.hpp> under separate
// compilation (detail/attributes.hpp says which definitions live here).
#pragma once

#include <redress/tags.hpp>

#include <cstddef>
#include <initializer_list>
#include <string_view>

#include <redress/detail/attributes.hpp>
#include <redress/detail/message.hpp>
#include <redress/errors.hpp>

namespace redress {

REDRESS_DECL Tags::Tags(std::initializer_list<Tag> tags) {
    for (const Tag& t : tags) set(t.key, t.value);
}

REDRESS_DECL Tags::Tags(const Tags& other) { assign(other); }

REDRESS_DECL Tags& Tags::operator=(const Tags& other) {
    if (this != &other) assign(other);
    return *this;
}

REDRESS_DECL void Tags::set(std::string_view key, std::string_view value) {
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

REDRESS_DECL void Tags::merge(const Tags& other) {
    for (const Tag& t : other) set(t.key, t.value);
}

REDRESS_DECL std::string_view Tags::get(std::string_view key) const noexcept {
    for (std::size_t i = 0; i < size_; ++i)
        if (items_[i].key == key) return items_[i].value;
    return {};
}

REDRESS_DECL void Tags::check_key(std::string_view key) {
    const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
    bool ok = !key.empty() && letter(key.front());
    for (char c : key) ok = ok && (letter(c) || (c >= '0' && c <= '9'));
    if (!ok)
        detail::invalid_option("Tags", "key", detail::Message{} << "must be an identifier ([A-Za-z_][A-Za-z0-9_]*), not '"
                                                                << key << "'");
}

REDRESS_DECL void Tags::append(std::string_view key, std::string_view value) {
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

REDRESS_DECL void Tags::assign(const Tags& other) {
    text_ = other.text_;
    used_ = other.used_;
    size_ = other.size_;
    for (std::size_t i = 0; i < size_; ++i) {
        const Tag& t = other.items_[i];
        items_[i] = Tag{{text_.data() + (t.key.data() - other.text_.data()), t.key.size()},
                        {text_.data() + (t.value.data() - other.text_.data()), t.value.size()}};
    }
}

}  // namespace redress
