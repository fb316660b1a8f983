// firewalld's configuration read offline (firewalld.hpp): firewalld.conf with firewalld's own rules and fallbacks,
// zone files with /etc overriding /usr/lib as a whole, services, malformed files, and the zone editor.
#include <gtest/gtest.h>

#include "firewalld.hpp"
#include "plumb_test.hpp"
#include "test_firewalld_host.hpp"

namespace fwd = plumb::firewall::firewalld;
using plumb::test::FakeHost;
using plumb::test::TempRoot;

namespace {

std::string fixture(const std::string& name) {
    return plumb::test::source_dir() + "/modules/firewall/tests/fixtures/firewalld/" + name;
}

// A root with the fixture's vendor zones and services and /etc/firewalld/firewalld.conf.
void base_image(const TempRoot& r) { r.copy_from(fixture("base")); }

template <class T>
T ok(plumb::Result<T> r) {
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message);
    if (!r) throw std::runtime_error(r.error().message);
    return std::move(*r);
}

}  // namespace

// ---- firewalld.conf ----

TEST(FirewalldConf, ReadsTheKeysWithTheirLines) {
    auto c = fwd::parse_conf("# comment\n; also a comment\n  DefaultZone = home \nFirewallBackend=iptables\n", "/etc/firewalld/firewalld.conf");
    EXPECT_TRUE(c.exists);
    EXPECT_EQ(c.default_zone.value, "home");
    EXPECT_EQ(c.default_zone.line, 3u);
    EXPECT_EQ(c.backend.value, "iptables");
    EXPECT_EQ(c.backend.line, 4u);
    EXPECT_TRUE(c.ignored.empty());
}

TEST(FirewalldConf, FallbacksWhenKeysAreAbsent) {
    auto c = fwd::parse_conf("CleanupOnExit=yes\n", "f");
    EXPECT_EQ(c.default_zone.value, "public");
    EXPECT_EQ(c.default_zone.line, 0u);
    EXPECT_EQ(c.backend.value, "nftables");
    EXPECT_EQ(c.backend.line, 0u);
}

TEST(FirewalldConf, FirstAssignmentWinsAndBrokenLinesAreIgnoredAsFirewalldDoes) {
    auto c = fwd::parse_conf("DefaultZone=\n"                  // empty value: "Missing value", ignored
                             "DefaultZone=a=b\n"               // split on '=' gives three parts: ignored
                             "DefaultZone=work\n"              // the first valid one
                             "DefaultZone=home\n"              // duplicate: ignored
                             "defaultzone=dmz\n"               // keys are case-sensitive: unknown option
                             "Bogus=1\n",
                             "f");
    EXPECT_EQ(c.default_zone.value, "work");
    EXPECT_EQ(c.default_zone.line, 3u);
    ASSERT_EQ(c.ignored.size(), 5u);
    EXPECT_NE(c.ignored[0].second.find("f:1: DefaultZone has no value"), std::string::npos) << c.ignored[0].second;
    EXPECT_NE(c.ignored[1].second.find("f:2: DefaultZone=a=b has more than one '='"), std::string::npos) << c.ignored[1].second;
    EXPECT_NE(c.ignored[2].second.find("f:4: DefaultZone=home is a duplicate"), std::string::npos) << c.ignored[2].second;
    EXPECT_NE(c.ignored[3].second.find("unknown option defaultzone"), std::string::npos);
}

TEST(FirewalldConf, InvalidBackendFallsBackToNftablesAndIsRemembered) {
    auto c = fwd::parse_conf("FirewallBackend=ebpf\n", "f");
    EXPECT_EQ(c.backend.value, "nftables");
    EXPECT_EQ(c.backend.line, 0u);
    EXPECT_EQ(c.backend.raw, "ebpf");
    EXPECT_EQ(c.backend.raw_line, 1u);
    auto upper = fwd::parse_conf("FirewallBackend=NFTables\n", "f");  // firewalld compares lower-cased
    EXPECT_EQ(upper.backend.value, "nftables");
    EXPECT_EQ(upper.backend.line, 1u);
}

TEST(FirewalldConf, MissingFileMeansFirewalldsFallbacks) {
    TempRoot r;
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto c = ok(fwd::read_conf(host));
    EXPECT_FALSE(c.exists);
    EXPECT_EQ(c.default_zone.value, "public");
    EXPECT_EQ(c.backend.value, "nftables");
}

// ---- zones ----

TEST(FirewalldZone, ParsesEveryElement) {
    const std::string text =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<zone target=\"%%REJECT%%\" version=\"1.0\">\n"
        "  <short>Site</short>\n"
        "  <description>Site zone</description>\n"
        "  <interface name=\"eth0\"/>\n"
        "  <source address=\"192.0.2.0/24\"/>\n"
        "  <source ipset=\"admins\"/>\n"
        "  <service name=\"ssh\"/>\n"
        "  <service name=\"ssh\"/>\n"
        "  <port port=\"8080\" protocol=\"tcp\"/>\n"
        "  <port port=\"60000-61000\" protocol=\"udp\"/>\n"
        "  <protocol value=\"gre\"/>\n"
        "  <icmp-block name=\"echo-request\"/>\n"
        "  <icmp-block-inversion/>\n"
        "  <forward/>\n"
        "  <masquerade/>\n"
        "  <forward-port port=\"80\" protocol=\"tcp\" to-port=\"8080\"/>\n"
        "  <source-port port=\"53\" protocol=\"udp\"/>\n"
        "  <rule family=\"ipv4\">\n"
        "    <source address=\"10.0.0.0/8\"/>\n"
        "    <service name=\"http\"/>\n"
        "    <accept/>\n"
        "  </rule>\n"
        "  <unknown-thing/>\n"
        "</zone>\n";
    auto z = ok(fwd::parse_zone(text, "/etc/firewalld/zones/site.xml", "site"));
    EXPECT_EQ(z.name, "site");
    EXPECT_EQ(z.target, "REJECT");
    EXPECT_EQ(z.line, 2u);
    EXPECT_EQ(z.short_name, "Site");
    EXPECT_EQ(z.description, "Site zone");
    ASSERT_EQ(z.interfaces.size(), 1u);
    EXPECT_EQ(z.interfaces[0].value, "eth0");
    EXPECT_EQ(z.interfaces[0].line, 5u);
    ASSERT_EQ(z.sources.size(), 2u);
    EXPECT_EQ(z.sources[0].value, "192.0.2.0/24");
    EXPECT_EQ(z.sources[1].value, "ipset:admins");
    ASSERT_EQ(z.services.size(), 1u);  // the duplicate is ignored, the <service> inside <rule> is the rule's
    EXPECT_EQ(z.services[0].line, 8u);
    ASSERT_EQ(z.ports.size(), 2u);
    EXPECT_EQ(z.ports[1].text(), "60000-61000/udp");
    EXPECT_EQ(z.ports[1].lo, 60000u);
    EXPECT_EQ(z.ports[1].hi, 61000u);
    EXPECT_TRUE(z.ports[1].covers(60500, "udp"));
    EXPECT_FALSE(z.ports[1].covers(60500, "tcp"));
    ASSERT_EQ(z.protocols.size(), 1u);
    EXPECT_EQ(z.protocols[0].value, "gre");
    EXPECT_EQ(z.icmp_blocks.size(), 1u);
    EXPECT_TRUE(z.icmp_block_inversion);
    EXPECT_TRUE(z.forward);
    EXPECT_TRUE(z.masquerade);
    ASSERT_EQ(z.forward_ports.size(), 1u);
    EXPECT_EQ(z.forward_ports[0].value, "<forward-port port=\"80\" protocol=\"tcp\" to-port=\"8080\"/>");
    ASSERT_EQ(z.source_ports.size(), 1u);
    ASSERT_EQ(z.rules.size(), 1u);
    EXPECT_EQ(z.rules[0].value, "<rule family=\"ipv4\"><source address=\"10.0.0.0/8\"/><service name=\"http\"/><accept/></rule>");
    EXPECT_EQ(z.rules[0].line, 19u);
    ASSERT_EQ(z.warnings.size(), 2u);
    EXPECT_NE(z.warnings[0].find("/etc/firewalld/zones/site.xml:9: service ssh is listed twice"), std::string::npos) << z.warnings[0];
    EXPECT_NE(z.warnings[1].find(":24: unknown element <unknown-thing>"), std::string::npos) << z.warnings[1];
}

TEST(FirewalldZone, TargetsAsFirewalldSpellsThem) {
    auto target = [](const std::string& attr) {
        return fwd::parse_zone("<zone" + attr + "/>", "z.xml", "z");
    };
    EXPECT_EQ(target("")->target, "default");
    EXPECT_EQ(target(" target=\"default\"")->target, "default");
    EXPECT_EQ(target(" target=\"{chain}_{zone}\"")->target, "default");
    EXPECT_EQ(target(" target=\"ACCEPT\"")->target, "ACCEPT");
    EXPECT_EQ(target(" target=\"DROP\"")->target, "DROP");
    EXPECT_EQ(target(" target=\"%%REJECT%%\"")->target, "REJECT");
    auto bad = target(" target=\"REJECT\"");  // firewalld writes %%REJECT%% and refuses REJECT
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("z.xml:1: invalid zone target \"REJECT\""), std::string::npos) << bad.error().message;
}

TEST(FirewalldZone, MalformedFilesAreErrorsWithFileAndLine) {
    auto broken = fwd::parse_zone("<?xml version=\"1.0\"?>\n<zone>\n  <service name=\"ssh\">\n</zone>\n", "/etc/firewalld/zones/public.xml", "public");
    ASSERT_FALSE(broken);
    EXPECT_EQ(broken.error().code, EINVAL);
    EXPECT_NE(broken.error().message.find("/etc/firewalld/zones/public.xml is not well-formed XML: line 4"), std::string::npos)
        << broken.error().message;

    auto root = fwd::parse_zone("<?xml version=\"1.0\"?>\n\n<service/>\n", "x.xml", "x");
    ASSERT_FALSE(root);
    EXPECT_NE(root.error().message.find("x.xml:3: root element is <service>, expected <zone>"), std::string::npos) << root.error().message;

    auto attr = fwd::parse_zone("<zone>\n  <port port=\"22\"/>\n</zone>", "y.xml", "y");
    ASSERT_FALSE(attr);
    EXPECT_NE(attr.error().message.find("y.xml:2: <port> has no protocol attribute"), std::string::npos) << attr.error().message;

    auto proto = fwd::parse_zone("<zone>\n  <port port=\"22\" protocol=\"icmp\"/>\n</zone>", "y.xml", "y");
    ASSERT_FALSE(proto);
    EXPECT_NE(proto.error().message.find("y.xml:2: invalid protocol \"icmp\""), std::string::npos) << proto.error().message;

    auto doctype = fwd::parse_zone("<!DOCTYPE zone [<!ENTITY e \"x\">]>\n<zone><short>&e;</short></zone>", "d.xml", "d");
    ASSERT_FALSE(doctype);
}

TEST(FirewalldZone, EtcReplacesTheVendorFileAsAWhole) {
    TempRoot r;
    base_image(r);
    // /etc/firewalld/zones/public.xml: the vendor's ssh and dhcpv6-client are gone, not merged
    r.write("/etc/firewalld/zones/public.xml", "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone>\n  <service name=\"http\"/>\n</zone>\n");
    r.write("/etc/firewalld/zones/site.xml", "<zone target=\"DROP\"/>\n");
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto pub = ok(fwd::read_zone(host, "public"));
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->file, "/etc/firewalld/zones/public.xml");
    EXPECT_TRUE(pub->from_etc);
    EXPECT_TRUE(pub->overrides_vendor);
    ASSERT_EQ(pub->services.size(), 1u);
    EXPECT_EQ(pub->services[0].value, "http");

    auto site = ok(fwd::read_zone(host, "site"));
    ASSERT_TRUE(site);
    EXPECT_TRUE(site->from_etc);
    EXPECT_FALSE(site->overrides_vendor);
    auto home = ok(fwd::read_zone(host, "home"));
    ASSERT_TRUE(home);
    EXPECT_EQ(home->file, "/usr/lib/firewalld/zones/home.xml");
    EXPECT_FALSE(home->from_etc);
    EXPECT_FALSE(ok(fwd::read_zone(host, "nonexistent")).has_value());

    auto names = ok(fwd::zone_names(host));
    EXPECT_EQ(names, (std::vector<std::string>{"block", "dmz", "drop", "external", "home", "internal", "public", "site", "trusted", "work"}));
    EXPECT_EQ(ok(fwd::read_zones(host)).size(), 10u);
}

TEST(FirewalldZone, NonXmlFilesAndMissingDirectoriesAreSkipped) {
    TempRoot r;
    r.write("/usr/lib/firewalld/zones/public.xml", "<zone/>\n");
    r.write("/usr/lib/firewalld/zones/README", "not a zone\n");
    r.write("/usr/lib/firewalld/zones/public.xml.old", "<broken\n");
    r.mkdir("/usr/lib/firewalld/zones/sub.xml");  // a directory is not a zone file
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    EXPECT_EQ(ok(fwd::zone_names(host)), std::vector<std::string>{"public"});
}

TEST(FirewalldZone, OneMalformedZoneFailsReadingAllZones) {
    TempRoot r;
    base_image(r);
    r.write("/etc/firewalld/zones/dmz.xml", "<zone>\n<service name=ssh/>\n</zone>\n");
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto all = fwd::read_zones(host);
    ASSERT_FALSE(all);
    EXPECT_NE(all.error().message.find("/etc/firewalld/zones/dmz.xml is not well-formed XML: line 2"), std::string::npos)
        << all.error().message;
    EXPECT_TRUE(ok(fwd::read_zone(host, "public")).has_value());  // other zones still read one by one
}

TEST(FirewalldZone, EffectiveDefaultZoneFallsBackLikeFirewalld) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto conf = fwd::parse_conf("DefaultZone=nosuch\n", "/etc/firewalld/firewalld.conf");
    auto eff = ok(fwd::effective_default_zone(host, conf));
    EXPECT_EQ(eff.name, "public");
    EXPECT_NE(eff.note.find("zone nosuch does not exist"), std::string::npos) << eff.note;
    auto fine = ok(fwd::effective_default_zone(host, fwd::parse_conf("DefaultZone=work\n", "f")));
    EXPECT_EQ(fine.name, "work");
    EXPECT_TRUE(fine.note.empty());
}

TEST(FirewalldZone, InstalledMeansAFirewalldDirectory) {
    TempRoot r;
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    EXPECT_FALSE(ok(fwd::installed(host)));
    r.mkdir("/etc/firewalld");
    EXPECT_TRUE(ok(fwd::installed(host)));
}

// ---- services and the management access ----

TEST(FirewalldManagement, AllowedByServicePortRangeServiceDefinitionOrTarget) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto ssh = ok(fwd::read_service(host, "ssh"));
    ASSERT_TRUE(ssh);
    ASSERT_EQ(ssh->ports.size(), 1u);
    EXPECT_EQ(ssh->ports[0].text(), "22/tcp");

    fwd::Management by_service;
    by_service.service = "ssh";
    fwd::Management by_port;
    by_port.port = 22;

    auto zone = [&](const std::string& body, const std::string& attrs = "") {
        return ok(fwd::parse_zone("<zone" + attrs + ">\n" + body + "</zone>\n", "/etc/firewalld/zones/z.xml", "z"));
    };
    auto listed = ok(fwd::allows(host, zone("  <service name=\"ssh\"/>\n"), by_service));
    EXPECT_TRUE(listed.allowed);
    EXPECT_EQ(listed.evidence, "service ssh at /etc/firewalld/zones/z.xml:2");
    auto via_port = ok(fwd::allows(host, zone("  <port port=\"1-1024\" protocol=\"tcp\"/>\n"), by_service));
    EXPECT_TRUE(via_port.allowed) << via_port.evidence;
    EXPECT_NE(via_port.evidence.find("port 1-1024/tcp at /etc/firewalld/zones/z.xml:2 covers 22/tcp"), std::string::npos) << via_port.evidence;
    auto via_def = ok(fwd::allows(host, zone("  <service name=\"ssh\"/>\n"), by_port));
    EXPECT_TRUE(via_def.allowed);
    EXPECT_NE(via_def.evidence.find("service ssh at /etc/firewalld/zones/z.xml:2 opens 22/tcp"), std::string::npos) << via_def.evidence;
    EXPECT_TRUE(ok(fwd::allows(host, zone("", " target=\"ACCEPT\""), by_port)).allowed);
    auto udp = ok(fwd::allows(host, zone("  <port port=\"22\" protocol=\"udp\"/>\n"), by_port));
    EXPECT_FALSE(udp.allowed);
    EXPECT_NE(udp.evidence.find("does not allow 22/tcp"), std::string::npos) << udp.evidence;
    auto none = ok(fwd::allows(host, zone("  <service name=\"http\"/>\n"), by_service));
    EXPECT_FALSE(none.allowed);
    EXPECT_NE(none.evidence.find("does not allow 22/tcp (the ports of service ssh"), std::string::npos) << none.evidence;
}

// ---- the zone editor ----

TEST(FirewalldZoneEditor, StartsFromTheVendorCopyAndKeepsEverythingElse) {
    TempRoot r;
    base_image(r);
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto e = ok(fwd::ZoneEditor::open(host, "public"));
    EXPECT_EQ(e.source(), "/usr/lib/firewalld/zones/public.xml");
    EXPECT_EQ(e.target_path(), "/etc/firewalld/zones/public.xml");
    EXPECT_FALSE(e.add_service("ssh"));  // already there
    EXPECT_FALSE(e.changed());
    EXPECT_TRUE(e.add_service("https"));
    EXPECT_TRUE(e.add_port("8443", "tcp"));
    EXPECT_TRUE(e.add_interface("eth1"));
    EXPECT_TRUE(e.remove_service("dhcpv6-client"));
    EXPECT_TRUE(e.set_target("REJECT"));
    EXPECT_TRUE(e.changed());
    EXPECT_EQ(ok(e.text()),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
              "<zone target=\"%%REJECT%%\">\n"
              "  <short>Public</short>\n"
              "  <description>Untrusted networks: only the listed incoming connections are accepted.</description>\n"
              "  <interface name=\"eth1\"/>\n"
              "  <service name=\"ssh\"/>\n"
              "  <service name=\"https\"/>\n"
              "  <port port=\"8443\" protocol=\"tcp\"/>\n"
              "  <forward/>\n"
              "</zone>\n");
    EXPECT_TRUE(e.set_target("default"));
    EXPECT_FALSE(e.set_target("default"));
}

TEST(FirewalldZoneEditor, KeepsCommentsRulesAndUnknownElementsOfAnEtcFile) {
    TempRoot r;
    base_image(r);
    const std::string site =
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        "<!-- edited by the network team -->\n"
        "<zone>\n"
        "    <short>Trusted</short>\n"
        "    <interface name=\"lo\"/>\n"
        "    <rule family=\"ipv6\">\n"
        "        <source address=\"fd00::/8\"/>\n"
        "        <accept/>\n"
        "    </rule>\n"
        "    <vendor-extension mode=\"x\"/>\n"
        "</zone>\n";
    r.write("/etc/firewalld/zones/trusted.xml", site);
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto e = ok(fwd::ZoneEditor::open(host, "trusted"));
    EXPECT_EQ(e.source(), "/etc/firewalld/zones/trusted.xml");
    EXPECT_TRUE(e.remove_interface("lo"));
    EXPECT_TRUE(e.add_service("ssh"));
    EXPECT_EQ(ok(e.text()),
              "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
              "<!-- edited by the network team -->\n"
              "<zone>\n"
              "    <short>Trusted</short>\n"
              "    <service name=\"ssh\"/>\n"
              "    <rule family=\"ipv6\">\n"
              "        <source address=\"fd00::/8\"/>\n"
              "        <accept/>\n"
              "    </rule>\n"
              "    <vendor-extension mode=\"x\"/>\n"
              "</zone>\n");
}

TEST(FirewalldZoneEditor, NewZoneAndRefusedSources) {
    TempRoot r;
    r.mkdir("/usr/lib/firewalld/zones");
    r.write("/etc/firewalld/zones/broken.xml", "<zone target=\"maybe\"/>\n");
    FakeHost fh(r.path(), false);
    auto host = fh.host();
    auto e = ok(fwd::ZoneEditor::open(host, "trusted"));
    EXPECT_TRUE(e.source().empty());
    e.set_target("ACCEPT");
    e.add_interface("lo");
    EXPECT_EQ(ok(e.text()), "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<zone target=\"ACCEPT\">\n  <interface name=\"lo\"/>\n</zone>\n");
    auto broken = fwd::ZoneEditor::open(host, "broken");
    ASSERT_FALSE(broken);
    EXPECT_NE(broken.error().message.find("invalid zone target \"maybe\""), std::string::npos) << broken.error().message;
}
