#include "imds.hpp"

#include <nlohmann/json.hpp>

#include "base64.hpp"
#include "http.hpp"
#include "validate.hpp"

namespace plumb::provision {

namespace {

using nlohmann::json;

Result<std::string> string_field(const json& obj, const char* key, const std::string& where) {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::string();
    if (!it->is_string()) return fail_invalid("IMDS " + where + "." + key + " is not a string");
    return it->get<std::string>();
}

}  // namespace

Result<Metadata> parse_imds(std::string_view body) {
    json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return fail(EBADMSG, "IMDS response is not valid JSON (" + std::to_string(body.size()) + " bytes)");
    if (!doc.is_object() || !doc.contains("compute") || !doc["compute"].is_object())
        return fail_invalid("IMDS response has no \"compute\" object");
    const json& compute = doc["compute"];
    Metadata m;
    m.source = "imds";
    if (auto it = compute.find("osProfile"); it != compute.end()) {
        if (!it->is_object()) return fail_invalid("IMDS compute.osProfile is not an object");
        auto user = string_field(*it, "adminUsername", "compute.osProfile");
        if (!user) return std::unexpected(user.error());
        m.admin_username = *user;
        auto host = string_field(*it, "computerName", "compute.osProfile");
        if (!host) return std::unexpected(host.error());
        m.computer_name = *host;
        if (auto d = it->find("disablePasswordAuthentication"); d != it->end() && !d->is_null()) {
            // IMDS sends "true"/"false" as strings; accept a JSON boolean too.
            if (d->is_boolean()) m.disable_password_authentication = d->get<bool>();
            else if (d->is_string() && (*d == "true" || *d == "True")) m.disable_password_authentication = true;
            else if (d->is_string() && (*d == "false" || *d == "False")) m.disable_password_authentication = false;
            else return fail_invalid("IMDS compute.osProfile.disablePasswordAuthentication is not true or false: " + quote(d->dump()));
        }
    }
    if (auto it = compute.find("publicKeys"); it != compute.end() && !it->is_null()) {
        if (!it->is_array()) return fail_invalid("IMDS compute.publicKeys is not an array");
        if (it->size() > 100) return fail_invalid("IMDS compute.publicKeys has more than 100 keys");
        for (size_t i = 0; i < it->size(); ++i) {
            const json& k = (*it)[i];
            std::string where = "compute.publicKeys[" + std::to_string(i) + "]";
            if (!k.is_object()) return fail_invalid("IMDS " + where + " is not an object");
            auto data = string_field(k, "keyData", where);
            if (!data) return std::unexpected(data.error());
            auto path = string_field(k, "path", where);
            if (!path) return std::unexpected(path.error());
            m.public_keys.push_back({*data, *path});
        }
    }
    auto user_data = string_field(compute, "userData", "compute");
    if (!user_data) return std::unexpected(user_data.error());
    if (!user_data->empty()) {
        auto decoded = base64_decode(*user_data);
        if (!decoded) return fail_invalid("IMDS compute.userData is not valid base64");
        m.user_data = std::move(*decoded);
    }
    return m;
}

Result<Metadata> fetch_imds(const ProvisionConfig& config) {
    Metadata result;
    auto r = retry_until_deadline(config.imds_retry, "IMDS " + config.imds_url, [&](std::chrono::milliseconds timeout) {
        HttpRequest req;
        req.url = config.imds_url;
        req.headers = {"Metadata: true"};
        req.timeout = timeout;
        req.max_body = config.imds_max_response;
        auto resp = http_request(req);
        if (!resp) {
            if (resp.error().code == EFBIG || resp.error().code == EINVAL) return Attempt::stop(resp.error());
            return Attempt::again(resp.error());
        }
        const long s = resp->status;
        const std::string status = "IMDS answered HTTP " + std::to_string(s);
        if (s == 200) {
            auto m = parse_imds(resp->body);
            if (m) {
                result = std::move(*m);
                return Attempt::ok();
            }
            return m.error().code == EBADMSG ? Attempt::again(m.error()) : Attempt::stop(m.error());
        }
        if (s == 400 || s == 404 || s == 410 || s == 429 || s == 500 || s == 503) return Attempt::again(Error{EAGAIN, status});
        return Attempt::stop(Error{EACCES, status + " (not retried)"});
    });
    if (!r) return std::unexpected(r.error());
    return result;
}

}  // namespace plumb::provision
