// Azure Instance Metadata Service: GET <url> with "Metadata: true", retried on connection errors, timeouts, 400,
// 404, 410, 429, 500, 503 and unparseable bodies with a fixed interval until a total deadline; 401/403/405 and
// any other status fail at once, as does a body over the size limit.
#pragma once

#include <string_view>

#include "config.hpp"
#include "metadata.hpp"

namespace plumb::provision {

// EBADMSG: not JSON (retried by fetch_imds); EINVAL: JSON of the wrong shape (a field of the wrong type), fatal.
Result<Metadata> parse_imds(std::string_view body);

Result<Metadata> fetch_imds(const ProvisionConfig& config);

}  // namespace plumb::provision
