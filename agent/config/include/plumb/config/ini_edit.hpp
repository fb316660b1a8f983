// Minimal edits of systemd-style INI files for remediation: change only the lines concerned, keep comments, order
// and everything else byte for byte.
#pragma once

#include <string>
#include <string_view>

namespace plumb::config {

// `text` with key=value in [section]: the last assignment of key in that section is replaced (all its continuation
// lines), or the assignment is added after the last line of the section's last block, or a new section is appended.
// Earlier assignments of the key in the section are left alone: the last one wins in systemd. `value` must not be
// empty (an empty value resets an option in systemd; remediation never writes one) and must not contain newlines.
std::string ini_set(std::string_view text, std::string_view section, std::string_view key, std::string_view value);

// `text` with the assignment that ends at `line` (1-based, as Assignment::line reports it) and its continuation
// lines turned into comments: "# <note>: <original line>".
std::string ini_comment_out(std::string_view text, unsigned line, std::string_view note);

}  // namespace plumb::config
