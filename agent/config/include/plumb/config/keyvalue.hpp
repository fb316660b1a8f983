// key=value style configuration files (auditd.conf, /etc/default/grub, sysctl.d, os-release, crypto-policies
// config, sshd_config-like "Key Value" files): one family, configured by a Syntax.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/error.hpp"

namespace plumb::config {

struct KeyValueSyntax {
    enum class Separator { equals, whitespace, equals_or_whitespace };
    Separator separator = Separator::equals;
    bool case_insensitive_keys = false;  // keys compared case-insensitively (auditd.conf, sshd_config)
    bool strip_quotes = false;           // shell-style "..." / '...' around the value (os-release, /etc/default/*)
    std::string comment_chars = "#";     // a line whose first non-blank character is one of these is a comment
    bool first_wins = false;             // sshd_config: the first occurrence wins; most files: the last one
};

struct KeyValue {
    std::string key;
    std::string value;
    unsigned line = 0;
};

struct KeyValueFile {
    std::string file;
    std::vector<KeyValue> entries;       // in file order
    std::vector<std::string> warnings;   // "file:line: what" for lines that are neither comment nor key/value
    // The effective entry for key under the syntax's rules (first or last occurrence), or nullptr.
    const KeyValue* find(std::string_view key) const;
    KeyValueSyntax syntax;
};

KeyValueFile parse_key_value(std::string_view text, const std::string& file, const KeyValueSyntax& syntax);

}  // namespace plumb::config
