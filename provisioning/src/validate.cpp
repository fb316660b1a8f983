#include "validate.hpp"

#include <array>
#include <optional>
#include <cstdio>

#include "base64.hpp"

namespace plumb::provision {

std::string quote(std::string_view s) {
    std::string out = "'";
    size_t shown = 0;
    for (unsigned char c : s) {
        if (++shown > 80) {
            out += "...";
            break;
        }
        if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out + "'";
}

Result<void> validate_user_name(std::string_view name) {
    auto bad = [&](const std::string& why) {
        return fail_invalid("user name " + quote(name) + " is not a portable user name (^[a-z_][a-z0-9_-]{0,31}$): " + why);
    };
    if (name.empty()) return bad("it is empty");
    if (name.size() > 32) return bad("longer than 32 characters");
    if (!(name[0] == '_' || (name[0] >= 'a' && name[0] <= 'z'))) return bad("it must start with a-z or '_'");
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return bad("it contains " + quote(std::string_view(&c, 1)));
    return {};
}

Result<void> validate_hostname(std::string_view name) {
    auto bad = [&](const std::string& why) { return fail_invalid("host name " + quote(name) + " is not valid: " + why); };
    if (name.empty()) return bad("it is empty");
    if (name.size() > 64) return bad("longer than 64 bytes");
    size_t start = 0;
    while (start <= name.size()) {
        size_t dot = name.find('.', start);
        if (dot == std::string_view::npos) dot = name.size();
        std::string_view label = name.substr(start, dot - start);
        if (label.empty()) return bad("empty label");
        if (label.size() > 63) return bad("a label is longer than 63 bytes");
        if (label.front() == '-' || label.back() == '-') return bad("a label starts or ends with '-'");
        for (char c : label)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
                return bad("only letters, digits, '-' and '.' are allowed");
        start = dot + 1;
    }
    return {};
}

namespace {

constexpr std::array<std::string_view, 7> kKeyTypes = {
    "ssh-ed25519",         "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"};

bool known_type(std::string_view t) {
    for (auto k : kKeyTypes)
        if (k == t) return true;
    return false;
}

bool blank(char c) { return c == ' ' || c == '\t'; }

// The next blank-separated token from `s` (quote-aware when `quoted`), advancing `s` past it and the blanks after it.
std::optional<std::string_view> next_token(std::string_view& s, bool quoted) {
    size_t i = 0;
    bool in_quote = false;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (quoted && c == '\\' && in_quote && i + 1 < s.size()) {
            ++i;
            continue;
        }
        if (quoted && c == '"') in_quote = !in_quote;
        else if (!in_quote && blank(c)) break;
    }
    if (in_quote) return std::nullopt;
    std::string_view tok = s.substr(0, i);
    s.remove_prefix(i);
    while (!s.empty() && blank(s.front())) s.remove_prefix(1);
    return tok;
}

}  // namespace

std::string AuthorizedKey::line() const {
    std::string l = options.empty() ? "" : options + " ";
    l += type + " " + blob;
    if (!comment.empty()) l += " " + comment;
    return l;
}

Result<AuthorizedKey> parse_authorized_key(std::string_view data) {
    auto bad = [&](const std::string& why) { return fail_invalid("SSH public key " + quote(data) + ": " + why); };
    while (!data.empty() && (data.back() == '\n' || data.back() == '\r' || blank(data.back()))) data.remove_suffix(1);
    while (!data.empty() && blank(data.front())) data.remove_prefix(1);
    if (data.empty()) return bad("it is empty");
    if (data.size() > 16384) return bad("longer than 16 KiB");
    for (char c : data) {
        if (c == '\0') return bad("it contains a NUL byte");
        if (c == '\n' || c == '\r') return bad("it contains a line break (one key per entry; only a trailing CR/LF is stripped)");
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) return bad("it contains a control character");
    }
    AuthorizedKey key;
    std::string_view rest = data;
    auto first = next_token(rest, /*quoted=*/true);
    if (!first) return bad("unterminated quote in the options");
    if (known_type(*first)) {
        key.type = *first;
    } else {
        key.options = *first;
        auto type = next_token(rest, false);
        if (!type || !known_type(*type)) return bad("unknown or missing key type (expected ssh-ed25519, ssh-rsa, ecdsa-sha2-*, sk-*)");
        key.type = *type;
    }
    auto blob = next_token(rest, false);
    if (!blob || blob->empty()) return bad("the base64 key blob is missing");
    auto raw = base64_decode(*blob);
    if (!raw) return bad("the key blob is not valid base64");
    // The blob starts with the key type as an SSH string (uint32 big-endian length, bytes).
    if (raw->size() < 4) return bad("the key blob is too short");
    uint32_t len = (uint32_t(uint8_t((*raw)[0])) << 24) | (uint32_t(uint8_t((*raw)[1])) << 16) |
                   (uint32_t(uint8_t((*raw)[2])) << 8) | uint32_t(uint8_t((*raw)[3]));
    if (len > raw->size() - 4 || std::string_view(*raw).substr(4, len) != key.type)
        return bad("the key blob does not hold a " + key.type + " key");
    key.blob = *blob;
    key.comment = rest;
    return key;
}

Result<void> validate_key_path(std::string_view path, const std::string& home) {
    if (path.empty()) return {};
    const std::string expected = home + "/.ssh/authorized_keys";
    if (path.find('\0') != std::string_view::npos) return fail_invalid("key path " + quote(path) + " contains a NUL byte");
    if (path != expected)
        return fail_invalid("key path " + quote(path) + " is not " + expected +
                            " (keys are only written to the provisioned user's authorized_keys)");
    return {};
}

}  // namespace plumb::provision
