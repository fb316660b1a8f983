// nftables checks and fixes on an offline image: the ruleset is what the distribution's boot-time file loads.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::has_reason;
using plumb::test::ModuleHarness;
using plumb::test::run_plumb_json;
using plumb::test::statuses;
using plumb::test::TempRoot;

namespace {

const char* const kDebianDefault = R"(#!/usr/sbin/nft -f

flush ruleset

table inet filter {
	chain input {
		type filter hook input priority filter;
	}
	chain forward {
		type filter hook forward priority filter;
	}
	chain output {
		type filter hook output priority filter;
	}
}
)";

const char* const kHardened = R"(#!/usr/sbin/nft -f
flush ruleset
include "/etc/nftables/main.nft"
)";

const char* const kHardenedMain = R"(define mgmt = 22
table inet filter {
	chain input {
		type filter hook input priority 0; policy drop;
		iif lo accept
		ip saddr 127.0.0.0/8 counter drop
		ip6 saddr ::1 counter drop
		ct state established,related accept
		tcp dport $mgmt accept
	}
	chain forward { type filter hook forward priority 0; policy drop; }
	chain output { type filter hook output priority 0; policy accept; }
}
)";

std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

}  // namespace

TEST(FirewallOffline, ChecksJudgeTheBootTimeRuleset) {
    TempRoot root;
    root.write("/etc/os-release", "ID=debian\n");
    root.write("/etc/nftables.conf", kHardened);
    root.write("/etc/nftables/main.nft", kHardenedMain);
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(h.run("firewall.nft_table", json::object()), Status::pass, "nft_table_present", "/etc/nftables.conf loads at boot");
    EXPECT_OUTCOME(h.run("firewall.nft_base_chains", json::object()), Status::pass, "nft_base_chain_present");
    EXPECT_OUTCOME(h.run("firewall.nft_default_deny", json::object()), Status::pass, "nft_policy_ok");
    EXPECT_OUTCOME(h.run("firewall.nft_loopback", json::object()), Status::pass, "nft_probe_ok", "dropped", "rule 2 of chain inet filter input");
    EXPECT_OUTCOME(h.run("firewall.nft_established", json::object()), Status::pass, "nft_probe_ok");
    EXPECT_OUTCOME(h.run("firewall.nft_management_port", json({{"port", 22}})), Status::pass, "nft_probe_ok", "tcp dport 22 accept");
    auto other_port = h.run("firewall.nft_management_port", json({{"port", 2222}}));
    EXPECT_OUTCOME(other_port, Status::fail, "nft_probe_wrong", "policy drop of chain inet filter input");
    // Persistence compares with the running ruleset: not applicable to an image.
    EXPECT_EQ(h.run("firewall.nft_persistent", json::object()).status, Status::notapplicable);
}

TEST(FirewallOffline, MissingOrBrokenBootFile) {
    TempRoot root;
    root.write("/etc/os-release", "ID=rhel\nID_LIKE=\"fedora\"\n");
    ModuleHarness h(root.path());
    auto t = h.run("firewall.nft_table", json::object());
    EXPECT_OUTCOME(t, Status::fail, "nft_table_missing", "/etc/sysconfig/nftables.conf");
    TempRoot broken;
    broken.write("/etc/nftables.conf", "table inet filter {\n\tchain input {\n");
    ModuleHarness b(broken.path());
    auto e = b.run("firewall.nft_table", json::object());
    EXPECT_EQ(e.status, Status::error) << describe(e);
    EXPECT_TRUE(has_reason(e, "nft_unreadable", {"/etc/nftables.conf:"})) << describe(e);
}

TEST(FirewallOffline, FixWritesTheTableFileAndTheIncludeThenPasses) {
    TempRoot root;
    root.write("/etc/os-release", "ID=debian\n");
    root.write("/etc/nftables.conf", kDebianDefault, 0755);
    const std::string tailoring = root / "tailoring.json";
    std::ofstream(tailoring) << R"({"tailoring": {"id": "t", "baseline": "cis"},
      "select": ["set_nftables_table", "set_nftables_base_chain", "nftables_established_connections",
                 "nftables_ensure_default_deny_policy", "set_nftables_loopback_traffic"]})";
    const std::vector<std::string> rules = {"--rule", "set_nftables_table", "--rule", "set_nftables_base_chain", "--rule",
                                            "nftables_established_connections", "--rule", "nftables_ensure_default_deny_policy",
                                            "--rule", "set_nftables_loopback_traffic"};
    std::vector<std::string> audit = {"audit", "--root", root.path(), "--baseline", "cis", "--tailoring", tailoring, "--format", "json"};
    audit.insert(audit.end(), rules.begin(), rules.end());
    auto before = statuses(run_plumb_json(audit, 2));
    EXPECT_EQ(before["set_nftables_table"], "pass");
    EXPECT_EQ(before["nftables_ensure_default_deny_policy"], "fail");
    EXPECT_EQ(before["set_nftables_loopback_traffic"], "fail");

    std::vector<std::string> fix = {"fix", "--root", root.path(), "--baseline", "cis", "--tailoring", tailoring, "--format", "json"};
    fix.insert(fix.end(), rules.begin(), rules.end());
    auto fixed = run_plumb_json(fix, 0);
    for (const auto& [id, status] : statuses(fixed)) EXPECT_TRUE(status == "pass" || status == "fixed") << id << ": " << status;

    const std::string boot = read(root / "etc/nftables.conf");
    EXPECT_TRUE(boot.starts_with(kDebianDefault)) << boot;  // the rest of the file is kept
    EXPECT_NE(boot.find("include \"/etc/nftables/plumb-inet-filter.nft\"\n"), std::string::npos) << boot;
    const std::string table = read(root / "etc/nftables/plumb-inet-filter.nft");
    EXPECT_NE(table.find("policy drop;"), std::string::npos) << table;
    EXPECT_NE(table.find("tcp dport 22 accept"), std::string::npos) << table;
    EXPECT_NE(table.find("ip saddr 127.0.0.0/8"), std::string::npos) << table;

    auto after = statuses(run_plumb_json(audit, 0));
    for (const auto& [id, status] : after) EXPECT_EQ(status, "pass") << id;
    // A second fix has nothing left to do.
    auto again = run_plumb_json(fix, 0);
    EXPECT_TRUE(again["plan"]["files"].empty()) << again["plan"].dump(2);
}
