#include "seed.hpp"

#include "plumb/config/text.hpp"
#include "validate.hpp"

namespace plumb::provision {

namespace {

std::string unquote(std::string_view v) {
    // A trailing " # comment" is dropped only outside quotes.
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'')) {
        size_t close = v.find(v.front(), 1);
        if (close != std::string_view::npos) return std::string(v.substr(1, close - 1));
    }
    if (size_t hash = v.find(" #"); hash != std::string_view::npos) v = config::trim(v.substr(0, hash));
    return std::string(v);
}

}  // namespace

Result<Metadata> parse_seed(std::string_view text) {
    Metadata m;
    m.source = "seed";
    bool in_keys = false;
    unsigned line_no = 0;
    for (const std::string& raw : config::split_lines(text)) {
        ++line_no;
        const std::string where = "seed meta-data:" + std::to_string(line_no);
        if (raw.find('\0') != std::string::npos) return fail_invalid(where + ": contains a NUL byte");
        std::string_view line = raw;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        std::string_view t = config::trim(line);
        if (t.empty() || t.front() == '#' || t == "---") continue;
        const bool indented = line.front() == ' ' || line.front() == '\t';
        if (indented) {
            if (!in_keys || !t.starts_with("- ")) return fail_invalid(where + ": unexpected nested value " + quote(t));
            m.public_keys.push_back({unquote(config::trim(t.substr(2))), ""});
            if (m.public_keys.size() > 100) return fail_invalid(where + ": more than 100 public keys");
            continue;
        }
        in_keys = false;
        size_t colon = t.find(':');
        if (colon == std::string_view::npos) return fail_invalid(where + ": expected 'key: value', got " + quote(t));
        std::string key(config::trim(t.substr(0, colon)));
        std::string value = unquote(config::trim(t.substr(colon + 1)));
        if (key == "public-keys") {
            if (!value.empty()) return fail_invalid(where + ": public-keys must be a list of '- key' lines");
            in_keys = true;
        } else if (key == "local-hostname" || key == "hostname") {
            m.computer_name = value;
        } else if (key == "admin-username") {
            m.admin_username = value;
        } else if (key == "disable-password-authentication") {
            if (value == "true") m.disable_password_authentication = true;
            else if (value == "false") m.disable_password_authentication = false;
            else return fail_invalid(where + ": disable-password-authentication must be true or false");
        }
    }
    return m;
}

Result<std::optional<Metadata>> read_seed(const SafeRoot& root, const ProvisionConfig& config) {
    auto meta = root.read_file(config.seed_directory + "/meta-data", 1u << 20);
    if (!meta) {
        if (meta.error().code == ENOENT) return std::optional<Metadata>();
        return std::unexpected(meta.error());
    }
    auto m = parse_seed(*meta);
    if (!m) return std::unexpected(m.error());
    auto user_data = root.read_file(config.seed_directory + "/user-data", 64u << 10);
    if (user_data) m->user_data = std::move(*user_data);
    else if (user_data.error().code != ENOENT) return std::unexpected(user_data.error());
    return std::optional<Metadata>(std::move(*m));
}

}  // namespace plumb::provision
