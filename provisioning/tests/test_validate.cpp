// Validation of untrusted metadata values, VM identity and base64: the checks that stand between metadata and
// the system.
#include <gtest/gtest.h>

#include "base64.hpp"
#include "identity.hpp"
#include "provision_fixture.hpp"
#include "validate.hpp"

using namespace plumb::provision;
using plumb::test::ed25519_public_key;

TEST(ProvisionValidate, PortableUserNames) {
    for (const char* ok : {"azureuser", "_svc", "a", "ops-admin_2", "abcdefghijklmnopqrstuvwxyz012345"})
        EXPECT_TRUE(validate_user_name(ok)) << ok;
    for (const char* bad : {"", "Root", "1user", "-user", "a;rm -rf /", "$(reboot)", "a b", "user.name", "../x", "us\ner",
                            "abcdefghijklmnopqrstuvwxyz0123456", "bob`id`", "a|b"})
        EXPECT_FALSE(validate_user_name(bad)) << bad;
    auto e = validate_user_name("a;rm -rf /");
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message.find("';'"), std::string::npos) << e.error().message;
    EXPECT_FALSE(validate_user_name(std::string("ab\0c", 4)));
}

TEST(ProvisionValidate, HostNames) {
    for (const char* ok : {"vm01", "web-1.example.com", "A1"}) EXPECT_TRUE(validate_hostname(ok)) << ok;
    for (const char* bad : {"", "-vm", "vm-", "a..b", "vm_1", "vm;reboot", "vm\n", ".vm"}) EXPECT_FALSE(validate_hostname(bad)) << bad;
    EXPECT_FALSE(validate_hostname(std::string(65, 'a')));
    EXPECT_FALSE(validate_hostname(std::string(1 << 20, 'a')));
}

TEST(ProvisionValidate, KeysAreParsedAndNormalised) {
    std::string key = ed25519_public_key(1, "ops@laptop");
    auto k = parse_authorized_key(key + "\r\n");
    ASSERT_TRUE(k) << k.error().message;
    EXPECT_EQ(k->line(), key);  // trailing CRLF stripped
    EXPECT_EQ(k->type, "ssh-ed25519");
    EXPECT_EQ(k->comment, "ops@laptop");

    auto with_options = parse_authorized_key("from=\"10.0.0.0/8,192.168.1.1\",command=\"echo a b\",no-pty " + key);
    ASSERT_TRUE(with_options) << with_options.error().message;
    EXPECT_EQ(with_options->options, "from=\"10.0.0.0/8,192.168.1.1\",command=\"echo a b\",no-pty");
    EXPECT_EQ(with_options->line(), "from=\"10.0.0.0/8,192.168.1.1\",command=\"echo a b\",no-pty " + key);
}

TEST(ProvisionValidate, HostileKeysAreRefused) {
    std::string key = ed25519_public_key(2);
    std::string blob = key.substr(key.find(' ') + 1);
    struct Case {
        std::string data, expect;
    };
    std::vector<Case> cases = {
        {key + "\r\ncommand=\"/bin/sh\" " + key, "line break"},
        {key + "\n" + key, "line break"},
        {key.substr(0, 20) + std::string(1, '\0') + key.substr(20), "NUL"},
        {"ssh-dss " + blob, "unknown or missing key type"},
        {"ssh-rsa " + blob, "does not hold a ssh-rsa key"},
        {"ssh-ed25519 not*base64", "not valid base64"},
        {"ssh-ed25519", "blob is missing"},
        {"command=\"unterminated " + key, "unterminated quote"},
        {"ssh-ed25519 " + blob + " " + std::string(20000, 'x'), "longer than 16 KiB"},
        {"", "empty"},
        {key + "\x1b[2J", "control character"},
    };
    for (const auto& c : cases) {
        auto r = parse_authorized_key(c.data);
        ASSERT_FALSE(r) << quote(c.data);
        EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
        EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "messages stay on one line";
    }
}

TEST(ProvisionValidate, KeyPathsStayInTheUsersAuthorizedKeys) {
    EXPECT_TRUE(validate_key_path("", "/home/ops"));
    EXPECT_TRUE(validate_key_path("/home/ops/.ssh/authorized_keys", "/home/ops"));
    for (const char* bad : {"../../etc/shadow", "/home/ops/.ssh/../../../etc/sudoers.d/x", "/root/.ssh/authorized_keys",
                            "/home/ops/.ssh/authorized_keys2", "/home/ops/./.ssh/authorized_keys", "home/ops/.ssh/authorized_keys"})
        EXPECT_FALSE(validate_key_path(bad, "/home/ops")) << bad;
    EXPECT_FALSE(validate_key_path(std::string("/home/ops/.ssh/authorized_keys\0x", 32), "/home/ops"));
}

TEST(ProvisionValidate, Base64IsStrict) {
    EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
    EXPECT_EQ(base64_decode("aGVsbG8h"), "hello!");
    EXPECT_EQ(base64_decode(""), "");
    for (const char* bad : {"aGVsbG8", "aGVs bG8=", "a===", "aG=sbG8=", "aGVsbG8=\n", "****"}) EXPECT_FALSE(base64_decode(bad)) << bad;
    EXPECT_EQ(base64_decode(plumb::test::base64_encode(std::string("\0\xff\x10", 3))), std::string("\0\xff\x10", 3));
}

TEST(ProvisionIdentity, Gen1AndGen2PresentationsGiveOneId) {
    const std::string gen2 = "9F2E9C7A-55B3-4E1B-8F0D-2C6A1B3D4E5F";
    const std::string gen1 = "7a9c2e9f-b355-1b4e-8f0d-2c6a1b3d4e5f";  // first three fields byte-swapped
    EXPECT_EQ(swap_uuid_fields("9f2e9c7a-55b3-4e1b-8f0d-2c6a1b3d4e5f"), gen1);
    auto a = canonical_vm_id(gen2 + "\n"), b = canonical_vm_id(gen1);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(*a, *b);
    auto other = canonical_vm_id("00000000-0000-0000-0000-000000000001");
    ASSERT_TRUE(other);
    EXPECT_NE(*other, *a);
    for (const char* bad : {"", "not-a-uuid", "9F2E9C7A55B34E1B8F0D2C6A1B3D4E5F", "9F2E9C7A-55B3-4E1B-8F0D-2C6A1B3D4E5G"})
        EXPECT_FALSE(canonical_vm_id(bad)) << bad;
}
