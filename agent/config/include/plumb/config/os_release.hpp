// os-release(5): which distribution a root holds, for modules whose file locations or defaults differ by family.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plumb/file_source.hpp"

namespace plumb::config {

// ID followed by the words of ID_LIKE from /etc/os-release, else /usr/lib/os-release; empty when neither exists.
std::vector<std::string> os_ids(FileSource& source);
// Whether `id` is the distribution or one it is like ("debian" for Ubuntu, "fedora"/"rhel" for RHEL clones).
bool os_is_like(const std::vector<std::string>& ids, std::string_view id);

}  // namespace plumb::config
