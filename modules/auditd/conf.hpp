// /etc/audit/auditd.conf read the way auditd 3.x's load_config() reads it (src/auditd-config.c):
// - a line is split on spaces only (audit_strsplit: a tab is part of a token); the first token starting with '#'
//   makes it a comment; otherwise the line must be "name = value [option]" with '=' its own token;
// - keywords are case-insensitive (strcasecmp), so are the enumerated values; the last assignment wins;
// - lines of 159 characters or more, and a last line without a newline, are skipped (fgets into a 160-byte buffer);
// - any malformed line, unknown keyword, invalid value or option on a keyword that takes none makes auditd stop
//   reading and refuse to start: such a file is reported as invalid with the line.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::auditd {

struct ConfEntry {
    std::string key;     // canonical (lower case) keyword
    std::string value;   // as written
    std::string option;  // the optional third token (exec path), "" if none
    unsigned line = 0;
};

struct AuditdConf {
    std::string file;
    bool exists = false;
    std::vector<ConfEntry> entries;          // accepted assignments in file order
    std::optional<std::string> fatal;        // "file:line: why": auditd refuses to start
    std::vector<std::string> notes;          // lines auditd skips
    // The effective assignment (the last one) or nullptr.
    const ConfEntry* find(std::string_view key) const;
};

enum class ConfKind { number, percent_or_number, size_action, failure_action, disk_action, text, other };

// The keyword's kind, or nullopt for a keyword auditd does not know.
std::optional<ConfKind> conf_kind(std::string_view key);
// auditd's built-in default (clear_config()), "" when it has none worth comparing.
std::string conf_default(std::string_view key);
// The accepted values of an enumerated kind, for messages.
std::vector<std::string> conf_values(ConfKind kind);

AuditdConf parse_auditd_conf(std::string_view text, const std::string& file);

}  // namespace plumb::auditd
