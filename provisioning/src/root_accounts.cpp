#include "root_accounts.hpp"

#include "plumb/config/keyvalue.hpp"
#include "plumb/config/text.hpp"

namespace plumb::provision {

namespace {

std::vector<std::string> fields(const std::string& line) {
    std::vector<std::string> out;
    size_t start = 0;
    for (;;) {
        size_t colon = line.find(':', start);
        out.push_back(line.substr(start, colon == std::string::npos ? std::string::npos : colon - start));
        if (colon == std::string::npos) return out;
        start = colon + 1;
    }
}

// The colon-separated line of `file` whose first field is `name`.
Result<std::optional<std::vector<std::string>>> lookup(const SafeRoot& root, const std::string& file, const std::string& name) {
    auto text = root.read_file(file, 64u << 20);
    if (!text) return std::unexpected(text.error());
    for (const auto& line : config::split_lines(*text)) {
        auto f = fields(line);
        if (!f.empty() && f[0] == name) return std::optional(std::move(f));
    }
    return std::optional<std::vector<std::string>>();
}

}  // namespace

Result<std::optional<PasswdEntry>> find_user(const SafeRoot& root, const std::string& name) {
    auto f = lookup(root, "/etc/passwd", name);
    if (!f) return std::unexpected(f.error());
    if (!*f) return std::optional<PasswdEntry>();
    const auto& v = **f;
    auto uid = v.size() > 2 ? config::parse_integer(v[2]) : std::nullopt;
    auto gid = v.size() > 3 ? config::parse_integer(v[3]) : std::nullopt;
    if (v.size() < 7 || !uid || !gid || *uid < 0 || *gid < 0)
        return fail_invalid("/etc/passwd: malformed entry for " + name);
    return std::optional(PasswdEntry{name, static_cast<uid_t>(*uid), static_cast<gid_t>(*gid), v[5]});
}

Result<GroupInfo> find_group(const SafeRoot& root, const std::string& group, const std::string& user) {
    auto f = lookup(root, "/etc/group", group);
    if (!f) return std::unexpected(f.error());
    GroupInfo g;
    if (!*f) return g;
    g.exists = true;
    if ((*f)->size() > 3) {
        std::string members = (**f)[3];
        size_t start = 0;
        while (start <= members.size()) {
            size_t comma = members.find(',', start);
            if (comma == std::string::npos) comma = members.size();
            if (members.compare(start, comma - start, user) == 0 && comma - start == user.size()) g.has_member = true;
            start = comma + 1;
        }
    }
    return g;
}

Result<bool> password_locked(const SafeRoot& root, const std::string& name) {
    auto f = lookup(root, "/etc/shadow", name);
    if (!f) return std::unexpected(f.error());
    if (!*f || (*f)->size() < 2) return fail_invalid("/etc/shadow: no entry for " + name);
    const std::string& pw = (**f)[1];
    return !pw.empty() && (pw[0] == '!' || pw[0] == '*');
}

uid_t uid_min(const SafeRoot& root) {
    auto text = root.read_file("/etc/login.defs", 1u << 20);
    if (!text) return 1000;
    config::KeyValueSyntax syntax;
    syntax.separator = config::KeyValueSyntax::Separator::whitespace;
    auto kv = config::parse_key_value(*text, "/etc/login.defs", syntax);
    const auto* e = kv.find("UID_MIN");
    auto v = e ? config::parse_integer(e->value) : std::nullopt;
    return v && *v > 0 ? static_cast<uid_t>(*v) : 1000;
}

}  // namespace plumb::provision
