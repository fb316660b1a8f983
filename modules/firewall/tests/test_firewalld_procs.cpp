// The firewalld procedures (firewalld.hpp) on offline fixture roots: each audit's pass and fail with the reasons
// naming expected, actual and file:line, and each remediation's plan (the files written, byte for byte where it
// matters) followed by the audit passing on the planned files. Live behaviour without a reachable firewalld (no bus,
// nothing owning the name) is covered here too; the real firewalld is in test_firewalld_live.cpp.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "firewalld.hpp"
#include "plumb/json_schema.hpp"
#include "plumb_test.hpp"
#include "test_firewalld_host.hpp"

namespace fwd = plumb::firewall::firewalld;
using nlohmann::json;
using plumb::test::FakeHost;
using plumb::test::FakeOutcome;
using plumb::test::TempRoot;

namespace {

constexpr plumb_status kPass = PLUMB_STATUS_PASS, kFail = PLUMB_STATUS_FAIL, kNA = PLUMB_STATUS_NOTAPPLICABLE,
                       kError = PLUMB_STATUS_ERROR;

void base_image(const TempRoot& r) {
    r.copy_from(plumb::test::source_dir() + "/modules/firewall/tests/fixtures/firewalld/base");
}

const std::string kConfText = [] {
    std::ifstream in(plumb::test::source_dir() + "/modules/firewall/tests/fixtures/firewalld/base/etc/firewalld/firewalld.conf");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}();

// Remediates, checks the status, applies the plan to the root and audits again (which must pass).
template <class Audit, class Fix>
FakeOutcome fix_and_verify(FakeHost& fh, Audit audit, Fix fix, const json& args) {
    auto planned = fh.remediate(fix, args);
    EXPECT_EQ(planned.status, kFail) << planned.text();
    EXPECT_TRUE(planned.has("planned")) << planned.text();
    auto on_plan = fh.audit(audit, args);  // reads see the plan
    EXPECT_EQ(on_plan.status, kPass) << on_plan.text();
    fh.apply();
    auto after = fh.audit(audit, args);
    EXPECT_EQ(after.status, kPass) << after.text();
    auto again = fh.remediate(fix, args);
    EXPECT_EQ(again.status, kPass) << again.text();
    EXPECT_TRUE(again.has("nothing_to_do")) << again.text();
    EXPECT_TRUE(fh.planned().empty());
    return planned;
}

// Live tests that must not reach a real system bus: the address points at a socket that does not exist.
class NoBus {
public:
    NoBus() {
        const char* old = std::getenv("PLUMB_SYSTEM_BUS_ADDRESS");
        if (old) saved_ = old;
        ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", ("unix:path=" + dir_.path() + "/no.socket").c_str(), 1);
    }
    ~NoBus() {
        if (saved_) ::setenv("PLUMB_SYSTEM_BUS_ADDRESS", saved_->c_str(), 1);
        else ::unsetenv("PLUMB_SYSTEM_BUS_ADDRESS");
    }

private:
    TempRoot dir_;
    std::optional<std::string> saved_;
};

}  // namespace

TEST(FirewalldSchemas, CompileAndAcceptTheDocumentedArguments) {
    struct Case {
        const char* schema;
        std::vector<json> good, bad;
    };
    const std::vector<Case> cases = {
        {fwd::kBackendSchema, {json::object(), {{"backend", "nftables"}}}, {{{"backend", "ebpf"}}, {{"x", 1}}}},
        {fwd::kDefaultZoneSchema,
         {{{"zone", "public"}}, {{"zone", "drop"}, {"management", {{"service", "ssh"}}}}, {{"zone", "internal"}, {"management", {{"port", 2222}}}},
          {{"management", {{"port", 22}, {"protocol", "tcp"}}}}},
         {{{"zone", "../etc"}}, {{"zone", "a/b"}}, {{"management", {{"port", 0}}}}, {{"management", {{"service", "ssh"}, {"port", 22}}}}}},
        {fwd::kLoopbackTrustedSchema, {json::object()}, {{{"zone", "trusted"}}}},
        {fwd::kZoneServicesSchema,
         {{{"required", {"ssh", "22/tcp", "60000-61000/udp", "protocol:gre"}}}, {{"zone", "public"}, {"allowed", {"ssh", "dhcpv6-client"}}}},
         {{{"required", {"22"}}}, {{"required", {"22/icmp"}}}, {{"allowed", "ssh"}}}},
        {fwd::kZoneTargetSchema,
         {json::object(), {{"zone", "public"}, {"targets", {"DROP"}}}},
         {{{"targets", json::array()}}, {{"targets", {"%%REJECT%%"}}}}},
        {fwd::kRuntimeSchema, {json::object()}, {{{"a", 1}}}},
    };
    for (const auto& c : cases) {
        auto schema = plumb::JsonSchema::compile(json::parse(c.schema));
        ASSERT_TRUE(schema) << schema.error().message << "\n" << c.schema;
        for (const auto& g : c.good) EXPECT_TRUE(schema->accepts(g)) << g.dump() << " rejected by " << c.schema;
        for (const auto& b : c.bad) EXPECT_FALSE(schema->accepts(b)) << b.dump() << " accepted by " << c.schema;
    }
}

// ---- not installed ----

TEST(FirewalldProcs, NotApplicableWithoutFirewalld) {
    TempRoot r;
    r.write("/etc/os-release", "ID=debian\n");
    FakeHost fh(r.path(), false);
    for (auto fn : {fwd::backend, fwd::default_zone, fwd::loopback_trusted, fwd::zone_services, fwd::zone_target}) {
        auto o = fh.audit(fn, json::object());
        EXPECT_EQ(o.status, kNA) << o.text();
        EXPECT_TRUE(o.has("firewalld_not_installed", {"/usr/lib/firewalld", "/etc/firewalld"})) << o.text();
    }
    auto fix = fh.remediate(fwd::remediate_default_zone, json::object());
    EXPECT_EQ(fix.status, kNA) << fix.text();
    EXPECT_TRUE(fh.planned().empty());
}

// ---- firewalld_backend ----

TEST(FirewalldProcs, BackendPassesAndFailsWithFileAndLine) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto ok = fh.audit(fwd::backend, json::object());
    EXPECT_EQ(ok.status, kPass) << ok.text();
    EXPECT_TRUE(ok.has("backend_ok", {"FirewallBackend=nftables at /etc/firewalld/firewalld.conf:17; expected nftables"})) << ok.text();
    auto other = fh.audit(fwd::backend, {{"backend", "iptables"}});
    EXPECT_EQ(other.status, kFail);
    EXPECT_TRUE(other.has("backend_mismatch", {"FirewallBackend=nftables at /etc/firewalld/firewalld.conf:17; expected iptables"})) << other.text();

    r.write("/etc/firewalld/firewalld.conf", "DefaultZone=public\n");
    auto dflt = fh.audit(fwd::backend, json::object());
    EXPECT_EQ(dflt.status, kPass) << dflt.text();
    EXPECT_TRUE(dflt.has("default_ok", {"FirewallBackend is not set in /etc/firewalld/firewalld.conf", "default nftables"})) << dflt.text();

    r.write("/etc/firewalld/firewalld.conf", "FirewallBackend=ebpf\nFirewallBackend=iptables\n");
    auto invalid = fh.audit(fwd::backend, json::object());
    EXPECT_EQ(invalid.status, kFail) << invalid.text();
    EXPECT_TRUE(invalid.has("invalid_value", {"FirewallBackend=ebpf at /etc/firewalld/firewalld.conf:1", "uses its default nftables"})) << invalid.text();
    EXPECT_TRUE(invalid.has("ignored_assignment", {"firewalld.conf:2: FirewallBackend=iptables is a duplicate"})) << invalid.text();
}

TEST(FirewalldProcs, BackendRemediationChangesOnlyThatLine) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto planned = fix_and_verify(fh, fwd::backend, fwd::remediate_backend, {{"backend", "iptables"}});
    std::string want = kConfText;
    want.replace(want.find("FirewallBackend=nftables"), 24, "FirewallBackend=iptables");
    EXPECT_EQ(r.read("/etc/firewalld/firewalld.conf"), want);
    EXPECT_TRUE(fh.live_actions().empty()) << "offline: nothing to reload";
}

TEST(FirewalldProcs, BackendRemediationCreatesAMissingConf) {
    TempRoot r;
    r.mkdir("/usr/lib/firewalld/zones");
    FakeHost fh(r.path(), false);
    fix_and_verify(fh, fwd::backend, fwd::remediate_backend, {{"backend", "iptables"}});
    EXPECT_EQ(r.read("/etc/firewalld/firewalld.conf"), "# firewalld configuration (written by plumb fix)\nFirewallBackend=iptables\n");
}

// ---- firewalld_default_zone ----

TEST(FirewalldProcs, DefaultZoneAudit) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto ok = fh.audit(fwd::default_zone, {{"zone", "public"}});
    EXPECT_EQ(ok.status, kPass) << ok.text();
    EXPECT_TRUE(ok.has("default_zone_ok", {"DefaultZone=public at /etc/firewalld/firewalld.conf:6; expected public"})) << ok.text();
    EXPECT_FALSE(ok.has("runtime_not_checked")) << "offline: the runtime is not mentioned";
    auto other = fh.audit(fwd::default_zone, {{"zone", "drop"}});
    EXPECT_EQ(other.status, kFail);
    EXPECT_TRUE(other.has("default_zone_mismatch", {"DefaultZone=public at /etc/firewalld/firewalld.conf:6; expected drop"})) << other.text();

    r.write("/etc/firewalld/firewalld.conf", "DefaultZone=nosuch\n");
    auto missing = fh.audit(fwd::default_zone, {{"zone", "public"}});
    EXPECT_EQ(missing.status, kFail);
    EXPECT_TRUE(missing.has("zone_missing", {"DefaultZone=nosuch at /etc/firewalld/firewalld.conf:1", "falls back to public",
                                             "expected default zone public"}))
        << missing.text();

    ::unlink((r / "etc/firewalld/firewalld.conf").c_str());
    auto absent = fh.audit(fwd::default_zone, json::object());
    EXPECT_EQ(absent.status, kPass) << absent.text();
    EXPECT_TRUE(absent.has("default_ok", {"/etc/firewalld/firewalld.conf does not exist; firewalld's default is public; expected public"}))
        << absent.text();
}

TEST(FirewalldProcs, DefaultZoneRemediationKeepsSshAllowed) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    // work has no ssh: switching to it must add ssh to /etc/firewalld/zones/work.xml (from the vendor copy)
    auto planned = fix_and_verify(fh, fwd::default_zone, fwd::remediate_default_zone, {{"zone", "work"}});
    EXPECT_TRUE(planned.has("planned", {"service ssh added to /etc/firewalld/zones/work.xml", "DefaultZone=work in /etc/firewalld/firewalld.conf"}))
        << planned.text();
    std::string conf = kConfText;
    conf.replace(conf.find("DefaultZone=public"), 18, "DefaultZone=work");
    EXPECT_EQ(r.read("/etc/firewalld/firewalld.conf"), conf);
    EXPECT_EQ(r.read("/etc/firewalld/zones/work.xml"),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Work</short>\n  <description>Office network.</description>\n"
              "  <service name=\"dhcpv6-client\"/>\n  <service name=\"ssh\"/>\n  <forward/>\n</zone>\n");
    EXPECT_EQ(r.read("/usr/lib/firewalld/zones/work.xml").find("ssh"), std::string::npos) << "the vendor file is untouched";
}

TEST(FirewalldProcs, DefaultZoneRemediationWithAManagementPort) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    const json args = {{"zone", "drop"}, {"management", {{"port", 2222}}}};
    auto planned = fix_and_verify(fh, fwd::default_zone, fwd::remediate_default_zone, args);
    EXPECT_TRUE(planned.has("planned", {"port 2222/tcp added to /etc/firewalld/zones/drop.xml"})) << planned.text();
    EXPECT_NE(r.read("/etc/firewalld/zones/drop.xml").find("  <port port=\"2222\" protocol=\"tcp\"/>\n  <forward/>"), std::string::npos)
        << r.read("/etc/firewalld/zones/drop.xml");
    // internal already opens ssh: no zone file is written
    TempRoot r2;
    base_image(r2);
    FakeHost fh2(r2.path(), false);
    fix_and_verify(fh2, fwd::default_zone, fwd::remediate_default_zone, {{"zone", "internal"}});
    EXPECT_FALSE(std::filesystem::exists(r2 / "etc/firewalld/zones/internal.xml"));
}

TEST(FirewalldProcs, DefaultZoneRemediationRefusesAZoneThatDoesNotExist) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto o = fh.remediate(fwd::remediate_default_zone, {{"zone", "nosuch"}});
    EXPECT_EQ(o.status, kError) << o.text();
    EXPECT_TRUE(o.has("no_safe_change", {"zone nosuch does not exist", "/usr/lib/firewalld/zones/nosuch.xml"})) << o.text();
    EXPECT_TRUE(fh.planned().empty());
}

// ---- firewalld_loopback_trusted ----

TEST(FirewalldProcs, LoopbackAudit) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto no = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(no.status, kFail);
    EXPECT_TRUE(no.has("loopback_not_trusted", {"interface lo is not bound to zone trusted (/usr/lib/firewalld/zones/trusted.xml)",
                                                "no zone binds it", "expected interface lo in zone trusted"}))
        << no.text();

    r.write("/etc/firewalld/zones/trusted.xml", "<zone target=\"ACCEPT\">\n  <interface name=\"lo\"/>\n</zone>\n");
    auto yes = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(yes.status, kPass) << yes.text();
    EXPECT_TRUE(yes.has("loopback_trusted", {"interface lo is bound to zone trusted at /etc/firewalld/zones/trusted.xml:2"})) << yes.text();

    r.write("/etc/firewalld/zones/public.xml", "<zone>\n  <service name=\"ssh\"/>\n  <interface name=\"lo\"/>\n</zone>\n");
    auto twice = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(twice.status, kFail);
    EXPECT_TRUE(twice.has("loopback_in_other_zone", {"zone public at /etc/firewalld/zones/public.xml:3"})) << twice.text();

    r.write("/etc/firewalld/zones/trusted.xml", "<zone target=\"DROP\">\n  <interface name=\"lo\"/>\n</zone>\n");
    ::unlink((r / "etc/firewalld/zones/public.xml").c_str());
    auto dropping = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(dropping.status, kFail);
    EXPECT_TRUE(dropping.has("trusted_not_accept", {"has target DROP at /etc/firewalld/zones/trusted.xml:1; expected ACCEPT"})) << dropping.text();

    r.write("/etc/firewalld/zones/dmz.xml", "<zone>\n  <interface name=\"lo\">\n</zone>\n");
    auto broken = fh.audit(fwd::loopback_trusted, json::object());
    EXPECT_EQ(broken.status, kError);
    EXPECT_TRUE(broken.has("zone_unreadable", {"/etc/firewalld/zones/dmz.xml is not well-formed XML: line 3"})) << broken.text();
}

TEST(FirewalldProcs, LoopbackRemediationCopiesTheVendorTrustedZone) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto planned = fix_and_verify(fh, fwd::loopback_trusted, fwd::remediate_loopback_trusted, json::object());
    EXPECT_EQ(r.read("/etc/firewalld/zones/trusted.xml"),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <short>Trusted</short>\n"
              "  <description>Accepts all traffic.</description>\n  <interface name=\"lo\"/>\n  <forward/>\n</zone>\n");
}

TEST(FirewalldProcs, LoopbackRemediationMovesLoOutOfOtherZones) {
    TempRoot r;
    base_image(r);
    r.write("/etc/firewalld/zones/internal.xml",
            "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <!-- lab -->\n  <interface name=\"lo\"/>\n  <interface name=\"eth1\"/>\n"
            "  <service name=\"ssh\"/>\n</zone>\n");
    r.write("/etc/firewalld/zones/trusted.xml", "<zone target=\"DROP\"/>\n");
    FakeHost fh(r.path(), false);
    auto planned = fix_and_verify(fh, fwd::loopback_trusted, fwd::remediate_loopback_trusted, json::object());
    EXPECT_TRUE(planned.has("planned", {"interface lo removed from /etc/firewalld/zones/internal.xml", "target ACCEPT set"})) << planned.text();
    EXPECT_EQ(r.read("/etc/firewalld/zones/internal.xml"),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <!-- lab -->\n  <interface name=\"eth1\"/>\n"
              "  <service name=\"ssh\"/>\n</zone>\n");
    EXPECT_EQ(r.read("/etc/firewalld/zones/trusted.xml"),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <interface name=\"lo\"/>\n</zone>\n");
}

// ---- firewalld_zone_services ----

TEST(FirewalldProcs, ZoneServicesRequiredAndAllowList) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto dflt = fh.audit(fwd::zone_services, json::object());  // the default zone (public), required ssh
    EXPECT_EQ(dflt.status, kPass) << dflt.text();
    EXPECT_TRUE(dflt.has("services_ok", {"zone public (/usr/lib/firewalld/zones/public.xml) allows ssh: service ssh at /usr/lib/firewalld/zones/public.xml:5"}))
        << dflt.text();

    auto port = fh.audit(fwd::zone_services, {{"zone", "internal"}, {"required", {"22/tcp", "8080/tcp", "5353/udp"}}});
    EXPECT_EQ(port.status, kPass) << port.text();
    EXPECT_TRUE(port.has("services_ok", {"22/tcp: service ssh at /usr/lib/firewalld/zones/internal.xml:5 (/usr/lib/firewalld/services/ssh.xml opens 22/tcp)",
                                         "8080/tcp: port 8080/tcp at /usr/lib/firewalld/zones/internal.xml:7"}))
        << port.text();

    auto missing = fh.audit(fwd::zone_services, {{"zone", "work"}});
    EXPECT_EQ(missing.status, kFail);
    EXPECT_TRUE(missing.has("required_missing", {"zone work (/usr/lib/firewalld/zones/work.xml) does not allow ssh; expected it to allow ssh"}))
        << missing.text();

    auto extras = fh.audit(fwd::zone_services, {{"zone", "internal"}, {"allowed", {"ssh"}}});
    EXPECT_EQ(extras.status, kFail);
    EXPECT_TRUE(extras.has("not_allowed", {"opens service mdns at /usr/lib/firewalld/zones/internal.xml:6, port 8080/tcp at /usr/lib/firewalld/zones/internal.xml:7",
                                           "allow-list ssh does not contain"}))
        << extras.text();
    auto ranges = fh.audit(fwd::zone_services, {{"zone", "internal"}, {"allowed", {"ssh", "mdns", "8000-8999/tcp"}}});
    EXPECT_EQ(ranges.status, kPass) << ranges.text();

    // a port the zone opens is allowed by an allowed service whose definition opens it
    r.write("/etc/firewalld/zones/work.xml", "<zone>\n  <port port=\"22\" protocol=\"tcp\"/>\n  <port port=\"23\" protocol=\"tcp\"/>\n</zone>\n");
    auto by_def = fh.audit(fwd::zone_services, {{"zone", "work"}, {"required", {"22/tcp"}}, {"allowed", {"ssh"}}});
    EXPECT_EQ(by_def.status, kFail) << by_def.text();
    EXPECT_TRUE(by_def.has("not_allowed", {"opens port 23/tcp at /etc/firewalld/zones/work.xml:3, which"})) << by_def.text();
    EXPECT_FALSE(by_def.has("not_allowed", {"22/tcp"})) << by_def.text();

    auto none = fh.audit(fwd::zone_services, {{"zone", "nosuch"}});
    EXPECT_EQ(none.status, kFail);
    EXPECT_TRUE(none.has("zone_missing", {"zone nosuch does not exist"})) << none.text();

    r.write("/etc/firewalld/zones/dmz.xml", "<zone target=\"ACCEPT\">\n  <service name=\"ssh\"/>\n  <rule><service name=\"http\"/><accept/></rule>\n</zone>\n");
    auto accept = fh.audit(fwd::zone_services, {{"zone", "dmz"}, {"allowed", {"ssh"}}});
    EXPECT_EQ(accept.status, kFail);
    EXPECT_TRUE(accept.has("not_allowed", {"target ACCEPT at /etc/firewalld/zones/dmz.xml:1 (every port)"})) << accept.text();
    EXPECT_TRUE(accept.has("rich_rule_not_evaluated", {"/etc/firewalld/zones/dmz.xml:3", "<rule><service name=\"http\"/><accept/></rule>"}))
        << accept.text();
}

TEST(FirewalldProcs, ZoneServicesRemediationAddsAndRemoves) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    const json args = {{"zone", "home"}, {"required", {"ssh", "9090/tcp"}}, {"allowed", {"ssh", "dhcpv6-client", "9090/tcp"}}};
    auto planned = fix_and_verify(fh, fwd::zone_services, fwd::remediate_zone_services, args);
    EXPECT_EQ(r.read("/etc/firewalld/zones/home.xml"),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <short>Home</short>\n  <description>Home network: some peers are trusted.</description>\n"
              "  <service name=\"ssh\"/>\n  <service name=\"dhcpv6-client\"/>\n  <port port=\"9090\" protocol=\"tcp\"/>\n  <forward/>\n</zone>\n");
}

TEST(FirewalldProcs, ZoneServicesRemediationNeverRemovesTheManagementAccess) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto o = fh.remediate(fwd::remediate_zone_services, {{"zone", "public"}, {"required", json::array()}, {"allowed", {"dhcpv6-client"}}});
    EXPECT_EQ(o.status, kError) << o.text();
    EXPECT_TRUE(o.has("no_safe_change", {"would cut the management access (service ssh, service ssh at /usr/lib/firewalld/zones/public.xml:5)"}))
        << o.text();
    EXPECT_TRUE(fh.planned().empty());
}

// ---- firewalld_zone_target ----

TEST(FirewalldProcs, ZoneTargetAuditAndRemediation) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto dflt = fh.audit(fwd::zone_target, json::object());
    EXPECT_EQ(dflt.status, kPass) << dflt.text();
    EXPECT_TRUE(dflt.has("target_ok", {"zone public (/usr/lib/firewalld/zones/public.xml) has target default (no target attribute) at /usr/lib/firewalld/zones/public.xml:2",
                                       "expected one of default, DROP, REJECT"}))
        << dflt.text();
    auto trusted = fh.audit(fwd::zone_target, {{"zone", "trusted"}});
    EXPECT_EQ(trusted.status, kFail);
    EXPECT_TRUE(trusted.has("target_not_allowed", {"has target ACCEPT at /usr/lib/firewalld/zones/trusted.xml:2"})) << trusted.text();
    EXPECT_EQ(fh.audit(fwd::zone_target, {{"zone", "block"}, {"targets", {"REJECT"}}}).status, kPass);

    // public with target ACCEPT and no ssh: DROP is set and ssh added so that remote management survives
    r.write("/etc/firewalld/zones/public.xml", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <short>Public</short>\n</zone>\n");
    auto planned = fix_and_verify(fh, fwd::zone_target, fwd::remediate_zone_target, {{"targets", {"DROP", "REJECT"}}});
    EXPECT_TRUE(planned.has("planned", {"target DROP in /etc/firewalld/zones/public.xml", "service ssh added"})) << planned.text();
    EXPECT_EQ(r.read("/etc/firewalld/zones/public.xml"),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"DROP\">\n  <short>Public</short>\n  <service name=\"ssh\"/>\n</zone>\n");
}

// ---- live without a reachable firewalld ----

TEST(FirewalldProcs, LiveWithoutABusChecksThePermanentConfigurationOnly) {
    NoBus nobus;
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), true);
    auto o = fh.audit(fwd::default_zone, {{"zone", "public"}});
    EXPECT_EQ(o.status, kPass) << o.text();
    EXPECT_TRUE(o.has("runtime_not_checked", {"firewalld does not run", "only the permanent configuration was checked"})) << o.text();
    auto rt = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(rt.status, kNA) << rt.text();
    EXPECT_TRUE(rt.has("firewalld_not_running")) << rt.text();
    // the reload is not planned and, if asked for, does nothing
    auto planned = fh.remediate(fwd::remediate_default_zone, {{"zone", "home"}});
    EXPECT_EQ(planned.status, kFail) << planned.text();
    EXPECT_TRUE(fh.live_actions().empty());
    auto reload_fn = [](plumb::sdk::Host& h, const json&, plumb::sdk::Reporter& rep) {
        return fwd::firewalld_reload(h, rep) == 0 ? PLUMB_STATUS_PASS : PLUMB_STATUS_ERROR;
    };
    FakeOutcome reload = fh.audit(reload_fn, json::object());
    EXPECT_EQ(reload.status, kPass) << reload.text();
    EXPECT_TRUE(reload.has("firewalld_not_running", {"nothing to reload"})) << reload.text();
}

TEST(FirewalldProcs, RuntimeIsNotApplicableOffline) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto o = fh.audit(fwd::runtime_state, json::object());
    EXPECT_EQ(o.status, kNA) << o.text();
}
