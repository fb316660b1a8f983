// Which VM this is, and whether it has been provisioned. The id comes from SMBIOS (product_uuid). Hyper-V Gen1 and
// Gen2 firmware present the same UUID with the first three fields in opposite byte order (little- vs big-endian),
// so a VM moved between them, or read by tools that disagree, would look new. The canonical id is therefore the
// lexicographically smaller of the UUID as read and its byte-swapped form: the same for both presentations.
#pragma once

#include <string>
#include <string_view>

#include "config.hpp"

namespace plumb::provision {

// Lower-case canonical UUID; EINVAL when the text is not a UUID.
Result<std::string> canonical_vm_id(std::string_view product_uuid);
// The UUID with its first three fields byte-swapped (the other firmware generation's presentation).
std::string swap_uuid_fields(const std::string& lower_uuid);

Result<std::string> read_vm_id(const SafeRoot& root, const ProvisionConfig& config);

// <StateDir>/provisioned-<id>: written last, only when every step succeeded and Ready was delivered.
std::string marker_path(const ProvisionConfig& config, const std::string& vm_id);

}  // namespace plumb::provision
