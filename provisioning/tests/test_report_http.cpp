// Reporting to the platform against a loopback wireserver: the JSON health endpoint, the goal-state XML fallback,
// escaping of failure descriptions, and the deadline.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "provision_fixture.hpp"
#include "report.hpp"

using namespace plumb::provision;
using namespace std::chrono_literals;
using plumb::test::HttpServer;
using plumb::test::RecordedRequest;
using plumb::test::Reply;

namespace {

ProvisionConfig config_for(const HttpServer& wire, std::chrono::milliseconds deadline = 2000ms) {
    ProvisionConfig c;
    c.health_url = wire.url("/provisioning/health");
    c.wireserver_url = wire.url();
    c.report_retry = {20ms, deadline, 500ms};
    return c;
}

// A wireserver whose /provisioning/health answers `health_status`; the goal-state flow works.
Reply wireserver(const RecordedRequest& r, int health_status) {
    if (r.target == "/provisioning/health") return Reply{health_status, ""};
    if (r.target == "/machine/?comp=goalstate") return Reply{200, plumb::test::goal_state_xml(), "text/xml"};
    if (r.target == "/machine?comp=health" && r.method == "POST") return Reply{200, ""};
    return Reply{404, ""};
}

}  // namespace

TEST(ProvisionReport, ReadyGoesToTheHealthEndpointAsJson) {
    HttpServer wire([](const RecordedRequest& r, int) { return wireserver(r, 200); });
    auto channel = report_health(config_for(wire), HealthReport{true, ""});
    ASSERT_TRUE(channel) << channel.error().message;
    EXPECT_EQ(*channel, "health endpoint");
    auto reqs = wire.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(nlohmann::json::parse(reqs[0].body), nlohmann::json({{"state", "Ready"}}));
    EXPECT_EQ(reqs[0].header("content-type"), "application/json");
}

TEST(ProvisionReport, NotReadyCarriesSubStatusAndDescription) {
    HttpServer wire([](const RecordedRequest& r, int) { return wireserver(r, 200); });
    auto channel = report_health(config_for(wire), HealthReport{false, "user: bad name"});
    ASSERT_TRUE(channel) << channel.error().message;
    auto body = nlohmann::json::parse(wire.requests().at(0).body);
    EXPECT_EQ(body["state"], "NotReady");
    EXPECT_EQ(body["details"]["subStatus"], "ProvisioningFailed");
    EXPECT_EQ(body["details"]["description"], "user: bad name");
}

TEST(ProvisionReport, DescriptionsAreAsciiAndBounded) {
    std::string long_hostile = "user: \xff\xfe\x01 " + std::string(5000, 'x');
    auto json = nlohmann::json::parse(health_json(HealthReport{false, long_hostile}));
    std::string d = json["details"]["description"];
    EXPECT_EQ(d.size(), 512u);
    EXPECT_TRUE(d.starts_with("user: ??? xxx")) << d.substr(0, 20);
    EXPECT_TRUE(d.ends_with("...")) << d;
    auto xml = health_xml(GoalState{"1", "c", "i"}, HealthReport{false, long_hostile});
    ASSERT_TRUE(xml) << xml.error().message;
    EXPECT_NE(xml->find("<Description>user: ??? xxx"), std::string::npos) << xml->substr(0, 600);
}

TEST(ProvisionReport, FallsBackToTheGoalStateFlow) {
    HttpServer wire([](const RecordedRequest& r, int) { return wireserver(r, 404); });
    auto channel = report_health(config_for(wire), HealthReport{false, "keys: <script>&\"x\""});
    ASSERT_TRUE(channel) << channel.error().message;
    EXPECT_EQ(*channel, "wireserver goal state");
    auto gets = wire.requests_to("/machine/?comp=goalstate");
    ASSERT_EQ(gets.size(), 1u);
    EXPECT_EQ(gets[0].header("x-ms-version"), "2012-11-30");
    EXPECT_EQ(gets[0].header("x-ms-agent-name"), "plumb-provision");
    auto posts = wire.requests_to("/machine?comp=health");
    ASSERT_EQ(posts.size(), 1u);
    const std::string& xml = posts[0].body;
    EXPECT_NE(xml.find("<GoalStateIncarnation>7</GoalStateIncarnation>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<ContainerId>c6d5b1a2-0000-4000-8000-000000000001</ContainerId>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<InstanceId>9f2e9c7a-55b3-4e1b-8f0d-2c6a1b3d4e5f._vm-e2e-01</InstanceId>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<State>NotReady</State>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("<SubStatus>ProvisioningFailed</SubStatus>"), std::string::npos) << xml;
    EXPECT_NE(xml.find("keys: &lt;script&gt;&amp;\"x\""), std::string::npos) << "description escaped: " << xml;
    EXPECT_EQ(posts[0].header("content-type"), "text/xml;charset=utf-8");
}

TEST(ProvisionReport, RetriesWhileTheWireserverFailsThenDelivers) {
    HttpServer wire([](const RecordedRequest& r, int i) { return i < 4 ? Reply{500, ""} : wireserver(r, 200); });
    auto channel = report_health(config_for(wire), HealthReport{true, ""});
    ASSERT_TRUE(channel) << channel.error().message;
    EXPECT_GE(wire.requests_to("/provisioning/health").size(), 2u);
}

TEST(ProvisionReport, GoalStateWithADoctypeIsRefused) {
    EXPECT_FALSE(parse_goal_state("<!DOCTYPE GoalState [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><GoalState><Incarnation>&x;</Incarnation></GoalState>"));
    EXPECT_FALSE(parse_goal_state("<GoalState><Incarnation>1</Incarnation></GoalState>"));
    EXPECT_FALSE(parse_goal_state("<GoalState"));
    EXPECT_TRUE(parse_goal_state(plumb::test::goal_state_xml()));
}

TEST(ProvisionReport, NothingAnsweringHonoursTheDeadline) {
    HttpServer wire([](const RecordedRequest&, int) {
        Reply r;
        r.hang = true;
        return r;
    });
    auto c = config_for(wire, 500ms);
    c.report_retry.attempt_timeout = 5000ms;
    auto t0 = std::chrono::steady_clock::now();
    auto channel = report_health(c, HealthReport{true, ""});
    double took = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_FALSE(channel);
    EXPECT_LT(took, 1200.0);
    EXPECT_GE(took, 450.0);
}
