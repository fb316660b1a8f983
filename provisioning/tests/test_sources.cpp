// Parsing the three metadata sources: IMDS JSON, ovf-env.xml (libxml2, no DTDs or entities) and the seed directory.
#include <gtest/gtest.h>

#include "imds.hpp"
#include "ovf.hpp"
#include "provision_fixture.hpp"
#include "seed.hpp"

using namespace plumb::provision;
using plumb::test::ed25519_public_key;
using plumb::test::ImdsDoc;
using plumb::test::imds_json;

TEST(ProvisionImdsParse, ReadsTheFieldsProvisioningNeeds) {
    ImdsDoc d;
    d.keys = {{ed25519_public_key(1) + "\r\n", "/home/azureuser/.ssh/authorized_keys"}};
    d.user_data = "#cloud-config\n";
    auto m = parse_imds(imds_json(d));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->admin_username, "azureuser");
    EXPECT_EQ(m->computer_name, "vm-e2e-01");
    EXPECT_EQ(m->disable_password_authentication, true);
    ASSERT_EQ(m->public_keys.size(), 1u);
    EXPECT_EQ(m->public_keys[0].path, "/home/azureuser/.ssh/authorized_keys");
    EXPECT_EQ(m->user_data, "#cloud-config\n");
}

TEST(ProvisionImdsParse, DisablePasswordAuthenticationAsStringOrBool) {
    for (auto [value, expect] : std::vector<std::pair<nlohmann::json, bool>>{{"true", true}, {"false", false}, {true, true}, {false, false}}) {
        ImdsDoc d;
        d.disable_password = value;
        auto m = parse_imds(imds_json(d));
        ASSERT_TRUE(m) << m.error().message;
        EXPECT_EQ(m->disable_password_authentication, expect) << value.dump();
    }
    ImdsDoc d;
    d.disable_password = "maybe";
    auto m = parse_imds(imds_json(d));
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, EINVAL);
}

TEST(ProvisionImdsParse, UnparseableIsEbadmsgAndWrongShapeIsEinval) {
    std::string good = imds_json(ImdsDoc{});
    auto truncated = parse_imds(good.substr(0, good.size() / 2));
    ASSERT_FALSE(truncated);
    EXPECT_EQ(truncated.error().code, EBADMSG);  // retried by fetch_imds
    for (const char* bad : {R"({"compute": 5})", R"([1,2])", R"({"compute": {"osProfile": {"adminUsername": 42}}})",
                            R"({"compute": {"publicKeys": {"keyData": "x"}}})", R"({"compute": {"userData": "%%%"}})"}) {
        auto r = parse_imds(bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_EQ(r.error().code, EINVAL) << bad << ": " << r.error().message;
    }
}

namespace {

std::string ovf(const std::string& inner, const std::string& prolog = "") {
    return R"(<?xml version="1.0" encoding="utf-8"?>)" + prolog + R"(
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure">
  <wa:ProvisioningSection>
    <wa:Version>1.0</wa:Version>
    <LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure">
      <ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>
)" + inner + R"(
    </LinuxProvisioningConfigurationSet>
  </wa:ProvisioningSection>
</Environment>
)";
}

}  // namespace

TEST(ProvisionOvfParse, ReadsUserHostAndKeys) {
    std::string key = ed25519_public_key(3, "k3");
    auto m = parse_ovf(ovf("<HostName>ovf-host</HostName><UserName>ovfuser</UserName><UserPassword></UserPassword>"
                           "<DisableSshPasswordAuthentication>true</DisableSshPasswordAuthentication>"
                           "<SSH><PublicKeys><PublicKey><Fingerprint>AB</Fingerprint><Path>/home/ovfuser/.ssh/authorized_keys</Path>"
                           "<Value>" + key + "</Value></PublicKey></PublicKeys></SSH>"
                           "<CustomData>aGVsbG8=</CustomData>"));
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->source, "ovf");
    EXPECT_EQ(m->admin_username, "ovfuser");
    EXPECT_EQ(m->computer_name, "ovf-host");
    EXPECT_EQ(m->disable_password_authentication, true);
    ASSERT_EQ(m->public_keys.size(), 1u);
    EXPECT_EQ(m->public_keys[0].key_data, key);
    EXPECT_EQ(m->user_data, "hello");
}

TEST(ProvisionOvfParse, PasswordsAreRefused) {
    auto m = parse_ovf(ovf("<UserName>u</UserName><UserPassword>hunter2</UserPassword>"));
    ASSERT_FALSE(m);
    EXPECT_NE(m.error().message.find("passwords is refused"), std::string::npos) << m.error().message;
}

TEST(ProvisionOvfParse, EntitiesAreNeverExpanded) {
    plumb::test::TempRoot tmp;
    tmp.write("secret", "TOP-SECRET-CONTENT");
    // External entity pointing at a local file, an internal entity, a parameter entity, and billion laughs.
    std::vector<std::string> docs = {
        ovf("<UserName>&xxe;</UserName>", "\n<!DOCTYPE Environment [<!ENTITY xxe SYSTEM \"file://" + (tmp / "secret") + "\">]>"),
        ovf("<UserName>&u;</UserName>", "\n<!DOCTYPE Environment [<!ENTITY u \"root\">]>"),
        ovf("<UserName>x</UserName>", "\n<!DOCTYPE Environment [<!ENTITY % p SYSTEM \"file://" + (tmp / "secret") + "\"> %p;]>"),
        ovf("<UserName>&l3;</UserName>", "\n<!DOCTYPE Environment [<!ENTITY l0 \"ha\"><!ENTITY l1 \"&l0;&l0;&l0;&l0;\">"
                                         "<!ENTITY l2 \"&l1;&l1;&l1;&l1;\"><!ENTITY l3 \"&l2;&l2;&l2;&l2;\">]>"),
        ovf("<UserName>x</UserName>", "\n<!DOCTYPE Environment SYSTEM \"http://127.0.0.1:9/evil.dtd\">"),
    };
    for (const auto& doc : docs) {
        auto m = parse_ovf(doc);
        ASSERT_FALSE(m) << doc;
        EXPECT_EQ(m.error().code, EINVAL);
        EXPECT_EQ(m.error().message.find("TOP-SECRET"), std::string::npos) << m.error().message;
    }
    // An entity reference without any DTD is not well-formed.
    auto undeclared = parse_ovf(ovf("<UserName>&xxe;</UserName>"));
    ASSERT_FALSE(undeclared);
    EXPECT_NE(undeclared.error().message.find("not well-formed"), std::string::npos) << undeclared.error().message;
}

TEST(ProvisionOvfParse, MalformedAndMissingParts) {
    EXPECT_FALSE(parse_ovf("<Environment><unclosed>"));
    EXPECT_FALSE(parse_ovf("<Environment/>"));
    EXPECT_FALSE(parse_ovf(ovf("<UserName>u</UserName><SSH><PublicKeys><PublicKey><Fingerprint>AB</Fingerprint></PublicKey></PublicKeys></SSH>")));
    EXPECT_FALSE(parse_ovf(std::string(2u << 20, ' ')));
}

TEST(ProvisionSeedParse, FlatMetaDataWithKeyList) {
    std::string key = ed25519_public_key(4, "ops@laptop");
    auto m = parse_seed("instance-id: iid-local01\nlocal-hostname: \"seed-host\"\nadmin-username: ops   # the admin\n"
                        "disable-password-authentication: false\npublic-keys:\n  - " + key + "\n  - '" + key + "'\nother: ignored\n");
    ASSERT_TRUE(m) << m.error().message;
    EXPECT_EQ(m->computer_name, "seed-host");
    EXPECT_EQ(m->admin_username, "ops");
    EXPECT_EQ(m->disable_password_authentication, false);
    ASSERT_EQ(m->public_keys.size(), 2u);
    EXPECT_EQ(m->public_keys[1].key_data, key);
    EXPECT_FALSE(parse_seed("network:\n  config: disabled\n"));
    EXPECT_FALSE(parse_seed("just a line\n"));
    EXPECT_FALSE(parse_seed(std::string("admin-username: a\0b\n", 20)));
}
