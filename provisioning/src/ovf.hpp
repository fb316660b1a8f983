// Azure's OVF environment (ovf-env.xml on the provisioning media), parsed with libxml2 — the project's one XML
// library, shared with the firewall module. Parsed with XML_PARSE_NONET and without XML_PARSE_NOENT or
// XML_PARSE_DTDLOAD, and any document type declaration is refused outright, so no entity (internal or external)
// is ever expanded or fetched.
#pragma once

#include <optional>
#include <string_view>

#include "config.hpp"
#include "metadata.hpp"

namespace plumb::provision {

// UserName, HostName, DisableSshPasswordAuthentication, SSH/PublicKeys/PublicKey/{Value, Path}, CustomData
// (base64). A non-empty UserPassword is an error: provisioning with passwords is refused.
Result<Metadata> parse_ovf(std::string_view xml);

// Reads ovf-env.xml from [OVF] Directory= when set, else mounts [OVF] Device= read-only (iso9660, then udf) on a
// private directory under /run and unmounts it again. nullopt when the media is not there (the source is absent).
Result<std::optional<Metadata>> read_ovf(const ProvisionConfig& config);

}  // namespace plumb::provision
