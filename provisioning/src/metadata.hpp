// What the platform tells the provisioner, whatever the source (IMDS, OVF, seed directory). Parsing fills this
// as given; nothing in it is trusted until plan.cpp has validated all of it.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace plumb::provision {

struct PublicKeyEntry {
    std::string key_data;  // one authorized_keys line as given (options allowed)
    std::string path;      // where the platform wants it; empty: the user's ~/.ssh/authorized_keys
};

struct Metadata {
    std::string source;  // "imds", "ovf", "seed"
    std::string admin_username;
    std::string computer_name;  // empty: the hostname is left alone
    std::optional<bool> disable_password_authentication;
    std::vector<PublicKeyEntry> public_keys;
    std::optional<std::string> user_data;  // decoded bytes
};

}  // namespace plumb::provision
