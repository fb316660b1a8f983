// A local seed directory in the spirit of cloud-init's NoCloud, for non-Azure machines and tests: <dir>/meta-data
// and optionally <dir>/user-data, read inside the root. meta-data is the flat subset of YAML that NoCloud seeds use:
//
//   instance-id: iid-local01
//   local-hostname: web01
//   admin-username: ops            # plumb's key for the user to provision
//   disable-password-authentication: true
//   public-keys:
//     - ssh-ed25519 AAAA... ops@laptop
//
// Values may be quoted with "..." or '...' (no escapes). Other keys are ignored; nested structures other than the
// public-keys list are an error rather than silently misread.
#pragma once

#include <optional>
#include <string_view>

#include "config.hpp"
#include "metadata.hpp"

namespace plumb::provision {

Result<Metadata> parse_seed(std::string_view meta_data);

// nullopt when <dir>/meta-data does not exist.
Result<std::optional<Metadata>> read_seed(const SafeRoot& root, const ProvisionConfig& config);

}  // namespace plumb::provision
