// Minimal edits of key=value files (auditd.conf, /etc/default/*, sshd_config-like files) for remediation: change
// only the line concerned, keep comments, order, spacing and everything else byte for byte. The INI counterpart is
// ini_edit.hpp; both locate assignments with the family's parsers (parse_key_value / parse_ini).
#pragma once

#include <string>
#include <string_view>

#include "plumb/config/keyvalue.hpp"

namespace plumb::config {

// `text` with the value of the assignment on `line` (1-based, as KeyValue::line reports it) replaced by `value`:
// the indentation, the key as written and the separator as written ("key = ", "Key\t", "KEY=") are kept, the rest
// of the line is replaced (so a stale trailing option goes too), the line ending is kept. Throws
// std::invalid_argument when the line is not an assignment under `syntax` or the value has a newline, and
// std::out_of_range for a line number past the end.
std::string key_value_replace(std::string_view text, unsigned line, std::string_view value, const KeyValueSyntax& syntax);

// `text` with "key<separator>value" appended as a new last line; a missing final newline is added first (auditd, for
// one, skips a last line without a newline).
std::string key_value_append(std::string_view text, std::string_view key, std::string_view value, std::string_view separator);

// `text` with key set to value: the effective assignment under the syntax's rules (the last one, or the first for
// first_wins) is replaced with key_value_replace, or a new assignment is appended with `separator`. Other
// assignments of the key are left alone: they do not take effect.
std::string key_value_set(std::string_view text, std::string_view key, std::string_view value, const KeyValueSyntax& syntax,
                          std::string_view separator);

}  // namespace plumb::config
