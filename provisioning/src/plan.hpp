// Turns untrusted metadata into a plan in which every value has been validated against the root it will be
// applied to. Nothing is changed before make_plan has succeeded, which is what guarantees "bad input changes
// nothing": hostile user names, key paths, keys and host names all fail here.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config.hpp"
#include "metadata.hpp"
#include "validate.hpp"

namespace plumb::provision {

struct Plan {
    std::string source;
    std::string hostname;  // empty: leave the hostname alone
    std::string user;
    bool user_exists = false;
    std::string home;
    std::vector<std::string> groups;  // configured supplementary groups, all present in the root
    bool disable_password_authentication = true;
    std::vector<AuthorizedKey> keys;  // at least one: passwords are refused, so keys are the only way in
    std::optional<std::string> user_data;
};

Result<Plan> make_plan(const Metadata& metadata, const ProvisionConfig& config, const SafeRoot& root);

}  // namespace plumb::provision
