// The parts of the root's account databases the provisioner needs beyond plumb::config::parse_account_db: a
// user's primary gid and home (passwd fields 4 and 6), whether the password is locked (shadow field 2) and
// UID_MIN from login.defs. Always read inside the root, never through the host's NSS.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "plumb/error.hpp"
#include "plumb/safe_root.hpp"

namespace plumb::provision {

struct PasswdEntry {
    std::string name;
    uid_t uid = 0;
    gid_t gid = 0;
    std::string home;
};

// nullopt when the user is not in /etc/passwd.
Result<std::optional<PasswdEntry>> find_user(const SafeRoot& root, const std::string& name);
// Whether the group exists in /etc/group; and whether `user` is listed as one of its members.
struct GroupInfo {
    bool exists = false;
    bool has_member = false;
};
Result<GroupInfo> find_group(const SafeRoot& root, const std::string& group, const std::string& user);
// True when /etc/shadow's password field starts with '!' or '*' (no password can be used to log in).
Result<bool> password_locked(const SafeRoot& root, const std::string& name);
// UID_MIN from /etc/login.defs (1000 when not set).
uid_t uid_min(const SafeRoot& root);

}  // namespace plumb::provision
