// /etc/selinux/config read the way libselinux 3.x reads it (libselinux/src/selinux_config.c), and the minimal edits
// remediation makes to it. Kept apart from the module so that the tests can check the rules directly.
//
// libselinux reads the two settings with different rules:
//  - SELINUX= (selinux_getenforcemode, used by load_policy at boot): only lines that begin, in column 0, with exactly
//    "SELINUX=" (case-sensitive, no blanks before '='); blanks after '=' are skipped; the value is matched
//    case-insensitively as a PREFIX of enforcing / permissive / disabled. The FIRST line that matches wins; lines with
//    other values are skipped.
//  - SELINUXTYPE= (init_selinux_config): leading blanks and '#' comment lines skipped, "SELINUXTYPE=" matched
//    case-insensitively, blanks after '=' skipped, trailing blanks and control characters trimmed. The LAST one wins;
//    none means "targeted".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::selinux {

inline constexpr const char* kConfigFile = "/etc/selinux/config";
inline constexpr const char* kDefaultPolicyType = "targeted";

enum class Mode { enforcing, permissive, disabled };
const char* to_string(Mode m);
std::optional<Mode> mode_from_string(std::string_view s);  // exact lower-case names

// A line that looks like a setting but that libselinux does not take, and why.
struct Ignored {
    unsigned line = 0;
    std::string text;  // the line as written
    std::string why;
};

struct ConfigView {
    std::string file;
    // SELINUX: the line libselinux uses (first match), with the mode it yields and the value as written.
    std::optional<Mode> mode;
    unsigned mode_line = 0;
    std::string mode_text;
    std::vector<unsigned> later_mode_lines;  // valid SELINUX= lines after the effective one: never read
    std::vector<Ignored> ignored_mode;       // SELINUX-like lines libselinux skips
    // SELINUXTYPE: the last assignment, or nullopt (libselinux then uses "targeted").
    std::optional<std::string> policy_type;
    unsigned policy_line = 0;
    std::vector<unsigned> earlier_policy_lines;  // overridden by the last one
    std::vector<Ignored> ignored_policy;
};

// Parses the text of /etc/selinux/config (lines found with plumb::config::parse_key_value, judged by libselinux's rules).
ConfigView parse_config(std::string_view text, const std::string& file);

// `text` with the SELINUX= line libselinux uses replaced by SELINUX=<mode>, or, when it has none, with the line
// appended. Everything else stays byte for byte.
std::string set_mode(std::string_view text, Mode mode);
// `text` with the last SELINUXTYPE= line replaced (or one appended).
std::string set_policy_type(std::string_view text, std::string_view type);

// The type field of a security context "user:role:type:level" (libselinux context_type_get), or empty when the
// context has fewer than three fields.
std::string context_type(std::string_view context);

}  // namespace plumb::selinux
