#include "plumb/config/os_release.hpp"

#include <algorithm>

#include "plumb/config/keyvalue.hpp"

namespace plumb::config {

std::vector<std::string> os_ids(FileSource& source) {
    std::vector<std::string> ids;
    for (const char* path : {"/etc/os-release", "/usr/lib/os-release"}) {
        auto text = source.read(path);
        if (!text) continue;
        KeyValueSyntax syntax;
        syntax.strip_quotes = true;
        auto kv = parse_key_value(*text, path, syntax);
        if (auto* id = kv.find("ID")) ids.push_back(id->value);
        if (auto* like = kv.find("ID_LIKE"))
            for (size_t at = 0; at < like->value.size();) {
                size_t end = like->value.find_first_of(" \t", at);
                if (end == std::string::npos) end = like->value.size();
                if (end > at) ids.push_back(like->value.substr(at, end - at));
                at = end + 1;
            }
        break;
    }
    return ids;
}

bool os_is_like(const std::vector<std::string>& ids, std::string_view id) {
    return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace plumb::config
