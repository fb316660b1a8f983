#include "report.hpp"

#include <cstring>
#include <memory>

#include <libxml/tree.h>
#include <nlohmann/json.hpp>

#include "http.hpp"
#include "plumb/config/xml.hpp"
#include "log.hpp"
#include "retry.hpp"

namespace plumb::provision {

namespace xml = plumb::config::xml;

using xml::child;
using xml::text_of;

namespace {

// Descriptions quote untrusted metadata: keep them short and plain ASCII so both JSON and XML carry them intact.
std::string cut(std::string s) {
    for (auto& c : s)
        if (static_cast<unsigned char>(c) >= 0x80 || (static_cast<unsigned char>(c) < 0x20 && c != '\n')) c = '?';
    if (s.size() > 512) s = s.substr(0, 509) + "...";
    return s;
}

const std::vector<std::string> kWireHeaders = {"x-ms-agent-name: plumb-provision", "x-ms-version: 2012-11-30"};

}  // namespace

Result<GoalState> parse_goal_state(std::string_view xml) {
    auto doc = xml::parse(xml, "goal state");
    if (!doc) return fail(doc.error().code == EINVAL ? EBADMSG : doc.error().code, doc.error().message);
    const xmlNode* root = xml::root(*doc);
    if (!xml::named(root, "GoalState"))
        return fail(EBADMSG, "goal state XML has no GoalState root element");
    GoalState g;
    g.incarnation = text_of(child(root, "Incarnation"));
    const xmlNode* container = child(root, "Container");
    g.container_id = text_of(child(container, "ContainerId"));
    g.instance_id = text_of(child(child(child(container, "RoleInstanceList"), "RoleInstance"), "InstanceId"));
    if (g.incarnation.empty() || g.container_id.empty() || g.instance_id.empty())
        return fail(EBADMSG, "goal state lacks Incarnation, ContainerId or InstanceId");
    for (const auto* v : {&g.incarnation, &g.container_id, &g.instance_id})
        if (v->size() > 256) return fail(EBADMSG, "goal state field longer than 256 bytes");
    return g;
}

std::string health_json(const HealthReport& r) {
    nlohmann::json j;
    if (r.ready) {
        j["state"] = "Ready";
    } else {
        j["state"] = "NotReady";
        j["details"] = {{"subStatus", "ProvisioningFailed"}, {"description", cut(r.description)}};
    }
    return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Result<std::string> health_xml(const GoalState& g, const HealthReport& r) {
    // Built through the XML library so that every value is escaped by it, never by string pasting.
    auto doc = xml::parse(R"(<Health xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"/>)",
                          "health report");
    if (!doc) return std::unexpected(doc.error());
    xmlNode* health = xml::root(*doc);
    xml::append_element(health, "GoalStateIncarnation", g.incarnation);
    xmlNode* container = xml::append_element(health, "Container");
    xml::append_element(container, "ContainerId", g.container_id);
    xmlNode* role = xml::append_element(xml::append_element(container, "RoleInstanceList"), "Role");
    xml::append_element(role, "InstanceId", g.instance_id);
    xmlNode* state = xml::append_element(role, "Health");
    xml::append_element(state, "State", r.ready ? "Ready" : "NotReady");
    if (!r.ready) {
        xmlNode* details = xml::append_element(state, "Details");
        xml::append_element(details, "SubStatus", "ProvisioningFailed");
        xml::append_element(details, "Description", cut(r.description));
    }
    return xml::serialize(*doc);
}

namespace {

// One attempt at the goal-state flow; the error says where it stopped.
Result<void> report_via_goal_state(const ProvisionConfig& config, const HealthReport& report, std::chrono::milliseconds timeout) {
    HttpRequest get;
    get.url = config.wireserver_url + "/machine/?comp=goalstate";
    get.headers = kWireHeaders;
    get.timeout = timeout;
    auto gs = http_request(get);
    if (!gs) return std::unexpected(gs.error());
    if (gs->status != 200) return fail(EAGAIN, "goal state: HTTP " + std::to_string(gs->status));
    auto goal = parse_goal_state(gs->body);
    if (!goal) return std::unexpected(goal.error());
    HttpRequest post;
    post.method = "POST";
    post.url = config.wireserver_url + "/machine?comp=health";
    post.headers = kWireHeaders;
    post.headers.push_back("Content-Type: text/xml;charset=utf-8");
    auto body = health_xml(*goal, report);
    if (!body) return std::unexpected(body.error());
    post.body = std::move(*body);
    post.timeout = timeout;
    auto resp = http_request(post);
    if (!resp) return std::unexpected(resp.error());
    if (resp->status < 200 || resp->status > 299) return fail(EAGAIN, "health XML: HTTP " + std::to_string(resp->status));
    return {};
}

}  // namespace

Result<std::string> report_health(const ProvisionConfig& config, const HealthReport& report) {
    std::string channel;
    auto r = retry_until_deadline(config.report_retry, "reporting " + std::string(report.ready ? "Ready" : "NotReady"),
                                  [&](std::chrono::milliseconds timeout) {
        const auto t0 = std::chrono::steady_clock::now();
        HttpRequest post;
        post.method = "POST";
        post.url = config.health_url;
        post.headers = {"Content-Type: application/json", "x-ms-agent-name: plumb-provision"};
        post.body = health_json(report);
        post.timeout = timeout;
        auto resp = http_request(post);
        if (resp && resp->status >= 200 && resp->status <= 299) {
            channel = "health endpoint";
            return Attempt::ok();
        }
        std::string first = resp ? "health endpoint: HTTP " + std::to_string(resp->status) : resp.error().message;
        // The fallback gets what is left of this attempt's time, so the deadline holds across both channels.
        auto left = timeout - std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
        if (left.count() <= 0) return Attempt::again(Error{ETIMEDOUT, first});
        auto wire = report_via_goal_state(config, report, left);
        if (wire) {
            channel = "wireserver goal state";
            return Attempt::ok();
        }
        return Attempt::again(Error{EAGAIN, first + "; " + wire.error().message});
    });
    if (!r) return std::unexpected(r.error());
    return channel;
}

}  // namespace plumb::provision
