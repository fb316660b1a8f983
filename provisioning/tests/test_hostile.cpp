// Hostile metadata through the whole binary: each case must fail with a clear error, report NotReady, and leave
// the root exactly as it was (no partial provisioning: everything is validated before anything changes).
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "provision_fixture.hpp"

using namespace plumb::test;

namespace {

struct Hostile {
    std::string name;
    std::function<std::string()> imds_body;  // what IMDS answers
    std::string expect;                      // in the error
};

std::string key() { return ed25519_public_key(5, "k"); }

std::string doc_with(const std::function<void(ImdsDoc&)>& edit) {
    ImdsDoc d;
    d.keys = {{key(), ""}};
    edit(d);
    return imds_json(d);
}

std::vector<Hostile> cases() {
    return {
        {"shell_metacharacters_in_user", [] { return doc_with([](ImdsDoc& d) { d.user = "x;touch /pwned"; }); }, "not a portable user name"},
        {"command_substitution_in_user", [] { return doc_with([](ImdsDoc& d) { d.user = "$(reboot)"; }); }, "not a portable user name"},
        {"dotdot_user", [] { return doc_with([](ImdsDoc& d) { d.user = "../../etc"; }); }, "not a portable user name"},
        {"option_injection_user", [] { return doc_with([](ImdsDoc& d) { d.user = "-o"; }); }, "not a portable user name"},
        {"existing_system_account", [] { return doc_with([](ImdsDoc& d) { d.user = "daemon"; }); }, "existing system account"},
        {"root_account", [] { return doc_with([](ImdsDoc& d) { d.user = "root"; }); }, "existing system account"},
        {"dotdot_key_path",
         [] { return doc_with([](ImdsDoc& d) { d.keys = {{key(), "/home/azureuser/.ssh/../../../root/.ssh/authorized_keys"}}; }); },
         "key path"},
        {"relative_key_path", [] { return doc_with([](ImdsDoc& d) { d.keys = {{key(), "../../etc/sudoers.d/evil"}}; }); }, "key path"},
        {"crlf_injected_second_key",
         [] { return doc_with([](ImdsDoc& d) { d.keys = {{key() + "\r\ncommand=\"/bin/sh\" " + key(), ""}}; }); }, "line break"},
        {"nul_in_key",
         [] { return doc_with([](ImdsDoc& d) { d.keys = {{key().substr(0, 30) + std::string(1, '\0') + key().substr(30), ""}}; }); },
         "NUL byte"},
        {"nul_in_user", [] { return doc_with([](ImdsDoc& d) { d.user = std::string("azure\0user", 10); }); }, "not a portable user name"},
        {"second_key_bad_after_good_one",
         [] { return doc_with([](ImdsDoc& d) { d.keys = {{key(), ""}, {"ssh-rsa bm90IGEga2V5", ""}}; }); }, "SSH public key"},
        {"gigantic_user_name", [] { return doc_with([](ImdsDoc& d) { d.user = std::string(300000, 'a'); }); }, "longer than 32"},
        {"gigantic_host_name", [] { return doc_with([](ImdsDoc& d) { d.host = std::string(500000, 'h'); }); }, "longer than 64"},
        {"gigantic_key", [] { return doc_with([](ImdsDoc& d) { d.keys = {{key() + std::string(600000, 'c'), ""}}; }); }, "longer than 16 KiB"},
        {"gigantic_response", [] { return doc_with([](ImdsDoc& d) { d.user_data = std::string(2u << 20, 'u'); }); }, "larger than"},
        {"hostile_host_name", [] { return doc_with([](ImdsDoc& d) { d.host = "vm;reboot"; }); }, "host name"},
        {"truncated_json", [] { std::string s = doc_with([](ImdsDoc&) {}); return s.substr(0, s.size() / 2); }, "not valid JSON"},
        {"wrong_types", [] { return std::string(R"({"compute":{"osProfile":{"adminUsername":["root"]}}})"); }, "not a string"},
        {"no_keys", [] { return doc_with([](ImdsDoc& d) { d.keys.clear(); }); }, "no SSH public key"},
    };
}

class ProvisionHostile : public ::testing::TestWithParam<Hostile> {};

}  // namespace

TEST_P(ProvisionHostile, FailsClearlyReportsNotReadyAndChangesNothing) {
    if (::geteuid() != 0) GTEST_SKIP() << "the fixture needs root-owned files like a real image";
    const Hostile& h = GetParam();
    TempRoot root;
    make_provision_root(root);
    std::string body = h.imds_body();
    HttpServer imds([&](const RecordedRequest&, int) { return Reply{200, body}; });
    HttpServer wire([](const RecordedRequest& r, int) { return r.target == "/provisioning/health" ? Reply{200, ""} : Reply{404, ""}; });
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire, .deadline_ms = 300, .attempt_timeout_ms = 200});
    auto before = snapshot(root);

    auto r = run_provision({}, &root);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find(h.expect), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("step metadata: FAILED"), std::string::npos) << r.err;
    EXPECT_LT(r.err.size(), 8192u) << "hostile fields are not echoed in full";
    EXPECT_EQ(snapshot(root), before) << "the root changed";

    auto health = wire.requests_to("/provisioning/health");
    ASSERT_EQ(health.size(), 1u);
    auto report = nlohmann::json::parse(health[0].body);
    EXPECT_EQ(report["state"], "NotReady");
    EXPECT_EQ(report["details"]["subStatus"], "ProvisioningFailed");
    EXPECT_LE(report["details"]["description"].get<std::string>().size(), 512u);
}

INSTANTIATE_TEST_SUITE_P(Metadata, ProvisionHostile, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

TEST(ProvisionHostileOvf, EntitiesAndPasswordsChangeNothing) {
    if (::geteuid() != 0) GTEST_SKIP() << "the fixture needs root-owned files like a real image";
    const std::string head = R"(<?xml version="1.0"?>)";
    const std::string body = R"(<Environment><LinuxProvisioningConfigurationSet><UserName>&x;</UserName><SSH><PublicKeys><PublicKey><Value>)" +
                             ed25519_public_key(6) + "</Value></PublicKey></PublicKeys></SSH></LinuxProvisioningConfigurationSet></Environment>";
    for (const auto& [xml, expect] : std::vector<std::pair<std::string, std::string>>{
             {head + "<!DOCTYPE Environment [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>" + body, "document type declaration"},
             {head + "<!DOCTYPE Environment [<!ENTITY x \"root\">]>" + body, "document type declaration"},
             {head + body, "not well-formed"},
             {head + "<Environment><LinuxProvisioningConfigurationSet><UserName>u</UserName><UserPassword>pw</UserPassword>"
                     "</LinuxProvisioningConfigurationSet></Environment>", "passwords is refused"}}) {
        TempRoot root;
        make_provision_root(root);
        root.write("media/ovf-env.xml", xml);
        HttpServer wire([](const RecordedRequest& r, int) { return r.target == "/provisioning/health" ? Reply{200, ""} : Reply{404, ""}; });
        write_provision_conf(root, {.sources = "ovf imds", .wireserver = &wire});
        auto before = snapshot(root);
        auto r = run_provision({}, &root);
        EXPECT_EQ(r.exit_code, 1) << r.err;
        EXPECT_NE(r.err.find(expect), std::string::npos) << r.err;
        EXPECT_EQ(snapshot(root), before);
        EXPECT_EQ(wire.requests_to("/provisioning/health").size(), 1u);
    }
}

TEST(ProvisionHostileRoot, SymlinkedAuthorizedKeysIsRefusedNotFollowed) {
    if (::geteuid() != 0) GTEST_SKIP() << "useradd --root needs root";
    TempRoot root;
    make_provision_root(root);
    // The image already has the user, and its authorized_keys is a symlink to the shadow file.
    root.write("etc/passwd", root.read("etc/passwd") + "azureuser:x:1000:1000::/home/azureuser:/bin/bash\n");
    root.write("etc/group", root.read("etc/group") + "azureuser:x:1000:\n");
    root.write("etc/shadow", root.read("etc/shadow") + "azureuser:!:19700:0:99999:7:::\n", 0640);
    root.write("etc/gshadow", root.read("etc/gshadow") + "azureuser:!::\n", 0640);
    root.mkdir("home/azureuser/.ssh", 0700);
    ::chown((root / "home/azureuser").c_str(), 1000, 1000);
    ::chown((root / "home/azureuser/.ssh").c_str(), 1000, 1000);
    root.symlink("/etc/shadow", "home/azureuser/.ssh/authorized_keys");
    std::string body = imds_json(ImdsDoc{.keys = {{ed25519_public_key(7), ""}}});
    HttpServer imds([&](const RecordedRequest&, int) { return Reply{200, body}; });
    HttpServer wire([](const RecordedRequest& r, int) { return r.target == "/provisioning/health" ? Reply{200, ""} : Reply{404, ""}; });
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire, .extra = "[User]\nGroups=\n"});
    const std::string shadow = root.read("etc/shadow");
    auto r = run_provision({}, &root);
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("is a symlink; refusing"), std::string::npos) << r.err;
    EXPECT_EQ(root.read("etc/shadow"), shadow);
    EXPECT_EQ(nlohmann::json::parse(wire.requests_to("/provisioning/health").at(0).body)["state"], "NotReady");
}
