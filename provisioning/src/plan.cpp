#include "plan.hpp"

#include "root_accounts.hpp"

namespace plumb::provision {

Result<Plan> make_plan(const Metadata& m, const ProvisionConfig& config, const SafeRoot& root) {
    Plan p;
    p.source = m.source;
    if (m.admin_username.empty()) return fail_invalid(m.source + " metadata names no admin user");
    if (auto v = validate_user_name(m.admin_username); !v) return std::unexpected(v.error());
    p.user = m.admin_username;

    auto existing = find_user(root, p.user);
    if (!existing) return std::unexpected(existing.error());
    if (*existing) {
        // An existing system account (root, daemon, ...) is never taken over, except the one the image's
        // configuration names as its admin account.
        if ((*existing)->uid < uid_min(root) && p.user != config.configured_admin)
            return fail_invalid("user name '" + p.user + "' is an existing system account (uid " +
                                std::to_string((*existing)->uid) + "); refusing to provision it");
        p.user_exists = true;
        p.home = (*existing)->home;
    } else {
        p.home = config.home_base + "/" + p.user;
    }
    for (const auto& g : config.groups) {
        if (auto v = validate_user_name(g); !v) return fail_invalid("[User] Groups: '" + g + "' is not a valid group name");
        auto info = find_group(root, g, p.user);
        if (!info) return std::unexpected(info.error());
        if (!info->exists) return fail_invalid("[User] Groups: group '" + g + "' does not exist in /etc/group");
        p.groups.push_back(g);
    }
    if (!config.shell.starts_with("/") || config.shell.find_first_of(":\n\r") != std::string::npos)
        return fail_invalid("[User] Shell=" + quote(config.shell) + " is not an absolute path");

    if (!m.computer_name.empty()) {
        if (auto v = validate_hostname(m.computer_name); !v) return std::unexpected(v.error());
        p.hostname = m.computer_name;
    }
    p.disable_password_authentication = m.disable_password_authentication.value_or(true);

    for (const auto& k : m.public_keys) {
        if (auto v = validate_key_path(k.path, p.home); !v) return std::unexpected(v.error());
        auto key = parse_authorized_key(k.key_data);
        if (!key) return std::unexpected(key.error());
        p.keys.push_back(std::move(*key));
    }
    if (p.keys.empty())
        return fail_invalid(m.source + " metadata has no SSH public key: the user could never log in (passwords are refused)");
    if (m.user_data && m.user_data->size() > (64u << 10)) return fail_invalid("user data is larger than 64 KiB");
    p.user_data = m.user_data;
    return p;
}

}  // namespace plumb::provision
