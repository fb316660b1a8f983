// Strict standard base64 (RFC 4648 section 4, with padding; whitespace is not accepted): userData, customData and
// the blobs of SSH public keys.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace plumb::provision {

std::optional<std::string> base64_decode(std::string_view text);

}  // namespace plumb::provision
