// The user and group databases (/etc/passwd, /etc/group) of an audited root, read as text so that names resolve
// through the root's own files and never through the host's NSS.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace plumb::config {

// One /etc/passwd or /etc/group line.
struct Account {
    std::string name;
    std::uint32_t id = 0;  // uid or gid (third field)
    unsigned line = 0;     // 1-based
};

struct AccountTable {
    std::string file;              // path inside the root, for messages
    std::vector<Account> entries;  // in file order
    // The first entry with this name or id, or nullptr.
    const Account* by_name(std::string_view name) const;
    const Account* by_id(std::uint32_t id) const;
};

// Parses "name:password:id:..." lines. NIS compat lines ("+..." / "-..."), comments ('#'), lines without a name or
// without an id field, and ids that are not a decimal number in 0..4294967295 are skipped: they are not accounts.
AccountTable parse_account_db(std::string_view text, std::string file);

}  // namespace plumb::config
