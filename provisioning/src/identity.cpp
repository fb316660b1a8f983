#include "identity.hpp"

#include <algorithm>

#include "plumb/config/text.hpp"
#include "validate.hpp"

namespace plumb::provision {

std::string swap_uuid_fields(const std::string& u) {
    // xxxxxxxx-xxxx-xxxx-...: reverse the byte (hex pair) order of the first three fields.
    auto swap = [&](size_t start, size_t len) {
        std::string out;
        for (size_t i = start + len; i > start; i -= 2) out += u.substr(i - 2, 2);
        return out;
    };
    return swap(0, 8) + "-" + swap(9, 4) + "-" + swap(14, 4) + u.substr(18);
}

Result<std::string> canonical_vm_id(std::string_view text) {
    std::string u(config::trim(text));
    std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    bool ok = u.size() == 36;
    for (size_t i = 0; ok && i < u.size(); ++i) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        ok = dash ? u[i] == '-' : std::isxdigit(static_cast<unsigned char>(u[i])) != 0;
    }
    if (!ok) return fail_invalid("product_uuid " + quote(text) + " is not a UUID");
    return std::min(u, swap_uuid_fields(u));
}

Result<std::string> read_vm_id(const SafeRoot& root, const ProvisionConfig& config) {
    auto text = root.read_file(config.uuid_file, 4096);
    if (!text) return fail(text.error().code, "cannot identify the VM: " + text.error().message);
    return canonical_vm_id(*text);
}

std::string marker_path(const ProvisionConfig& config, const std::string& vm_id) {
    return config.state_dir + "/provisioned-" + vm_id;
}

}  // namespace plumb::provision
