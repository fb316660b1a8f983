// End to end: the built plumb-provision on a fixture root (useradd --root) with a loopback IMDS and a loopback
// wireserver: user, keys, hostname, sshd drop-in, sudoers, baseline audit, Ready received, marker written; the
// second run does nothing; clean; single steps; the OVF source; Gen1/Gen2 UUID presentations.
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "provision_fixture.hpp"

using namespace plumb::test;

namespace {

const std::string kMarker = "var/lib/plumb/provision/provisioned-7a9c2e9f-b355-1b4e-8f0d-2c6a1b3d4e5f";

Reply wireserver(const RecordedRequest& r) {
    if (r.target == "/provisioning/health") return Reply{200, ""};
    return Reply{404, ""};
}

struct StatInfo {
    unsigned mode = 0;
    uid_t uid = 0;
    gid_t gid = 0;
    bool exists = false;
};
StatInfo stat_of(const TempRoot& root, const std::string& rel) {
    struct stat st {};
    if (::lstat((root / rel).c_str(), &st) != 0) return {};
    return {static_cast<unsigned>(st.st_mode & 07777), st.st_uid, st.st_gid, true};
}

class ProvisionE2E : public ::testing::Test {
protected:
    void SetUp() override {
        if (::geteuid() != 0) GTEST_SKIP() << "useradd --root needs root";
        make_provision_root(root);
        doc.keys = {{ed25519_public_key(1, "first@laptop") + "\r\n", "/home/azureuser/.ssh/authorized_keys"},
                    {"no-port-forwarding,from=\"10.0.0.0/8\" " + ed25519_public_key(2, "second"), ""}};
        doc.user_data = "#!/bin/sh\necho user data\n";
    }
    std::string imds_body() const { return imds_json(doc); }

    TempRoot root;
    ImdsDoc doc;
    HttpServer imds{[this](const RecordedRequest&, int) { return Reply{200, imds_body()}; }};
    HttpServer wire{[](const RecordedRequest& r, int) { return wireserver(r); }};
};

}  // namespace

TEST_F(ProvisionE2E, ProvisionsReportsReadyAndWritesTheMarkerThenDoesNothing) {
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire, .baseline = "cis"});
    auto r = run_provision({}, &root);
    ASSERT_EQ(r.exit_code, 0) << r.err;

    // The user, created through useradd --root inside the fixture, with the configured groups.
    EXPECT_NE(root.read("etc/passwd").find("azureuser:x:1000:1000::/home/azureuser:/bin/bash\n"), std::string::npos) << root.read("etc/passwd");
    EXPECT_NE(root.read("etc/group").find("sudo:x:27:azureuser\n"), std::string::npos) << root.read("etc/group");
    EXPECT_NE(root.read("etc/group").find("adm:x:4:azureuser\n"), std::string::npos);
    EXPECT_NE(root.read("etc/shadow").find("azureuser:!"), std::string::npos) << "password locked";
    EXPECT_EQ(root.read("home/azureuser/.profile"), "# ~/.profile from the image's /etc/skel\n");

    // Keys: CRLF stripped, options preserved, .ssh 0700 and the file 0600, owned by the user.
    EXPECT_EQ(root.read("home/azureuser/.ssh/authorized_keys"),
              ed25519_public_key(1, "first@laptop") + "\nno-port-forwarding,from=\"10.0.0.0/8\" " + ed25519_public_key(2, "second") + "\n");
    auto ssh_dir = stat_of(root, "home/azureuser/.ssh"), keys = stat_of(root, "home/azureuser/.ssh/authorized_keys");
    EXPECT_EQ(ssh_dir.mode, 0700u);
    EXPECT_EQ(keys.mode, 0600u);
    EXPECT_EQ(ssh_dir.uid, 1000u);
    EXPECT_EQ(keys.uid, 1000u);
    EXPECT_EQ(keys.gid, 1000u);

    EXPECT_EQ(root.read("etc/hostname"), "vm-e2e-01\n");
    EXPECT_EQ(root.read("etc/ssh/sshd_config.d/10-plumb-provision.conf"),
              "# Written by plumb-provision from the platform's provisioning metadata.\nPasswordAuthentication no\n");
    EXPECT_EQ(stat_of(root, "etc/ssh/sshd_config.d/10-plumb-provision.conf").mode, 0600u);
    EXPECT_NE(root.read("etc/sudoers.d/90-plumb-provision").find("\nazureuser ALL=(ALL) NOPASSWD:ALL\n"), std::string::npos);
    EXPECT_EQ(stat_of(root, "etc/sudoers.d/90-plumb-provision").mode, 0440u);
    EXPECT_EQ(root.read("var/lib/plumb/provision/user-data"), "#!/bin/sh\necho user data\n");
    EXPECT_EQ(stat_of(root, "var/lib/plumb/provision/user-data").mode, 0600u);

    // Baseline step: plumb fix ran on the root, applied journald's settings through a transaction, and its
    // report was recorded.
    auto fix = nlohmann::json::parse(root.read("var/lib/plumb/provision/baseline-fix.json"));
    EXPECT_EQ(fix["baseline"]["id"], "cis");
    EXPECT_EQ(fix["command"], "fix");
    EXPECT_GT(fix["summary"]["fixed"].get<int>(), 0) << fix.dump(2);
    ASSERT_TRUE(fix.contains("transaction")) << fix.dump(2);
    EXPECT_NE(root.read("etc/systemd/journald.conf.d/99-plumb.conf").find("Storage=persistent"), std::string::npos);
    EXPECT_NE(r.err.find("; transaction " + fix["transaction"].get<std::string>()), std::string::npos) << r.err;

    // Ready reached the fake wireserver; the marker records the run.
    auto health = wire.requests_to("/provisioning/health");
    ASSERT_EQ(health.size(), 1u);
    EXPECT_EQ(nlohmann::json::parse(health[0].body)["state"], "Ready");
    auto marker = nlohmann::json::parse(root.read(kMarker));
    EXPECT_EQ(marker["user"], "azureuser");
    EXPECT_EQ(marker["source"], "imds");
    EXPECT_EQ(marker["baseline"]["baseline"], "cis");
    EXPECT_EQ(marker["baseline"]["transaction"], fix["transaction"]);
    EXPECT_EQ(imds.requests().size(), 1u);
    EXPECT_EQ(imds.requests()[0].header("metadata"), "true");
    for (const char* step : {"step metadata: ok", "step hostname: ok", "step user: ok", "step keys: ok", "step baseline: ok",
                             "step report-ready: ok", "step marker: ok"})
        EXPECT_NE(r.err.find(step), std::string::npos) << step << "\n" << r.err;

    // Second boot: the marker is there, nothing is fetched, reported or changed.
    auto before = snapshot(root);
    auto again = run_provision({}, &root);
    EXPECT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.err.find("already provisioned"), std::string::npos) << again.err;
    EXPECT_EQ(imds.requests().size(), 1u);
    EXPECT_EQ(wire.requests().size(), 1u);
    EXPECT_EQ(snapshot(root), before);
}

TEST_F(ProvisionE2E, CleanThenRerunIsIdempotent) {
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire});
    ASSERT_EQ(run_provision({}, &root).exit_code, 0);
    auto clean = run_provision({"clean"}, &root);
    ASSERT_EQ(clean.exit_code, 0) << clean.err;
    EXPECT_FALSE(stat_of(root, kMarker).exists);

    auto files_before = snapshot(root);
    auto rerun = run_provision({}, &root);
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    EXPECT_EQ(wire.requests_to("/provisioning/health").size(), 2u);
    // Everything but the new marker is byte-for-byte what the first run left: no duplicate keys, no second user.
    auto files_after = snapshot(root);
    files_after.erase(kMarker);
    EXPECT_EQ(files_after, files_before);
    EXPECT_EQ(rerun.err.find("user: created"), std::string::npos) << rerun.err;
}

TEST_F(ProvisionE2E, Gen1PresentationOfTheSameVmDoesNotReprovision) {
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire});
    ASSERT_EQ(run_provision({}, &root).exit_code, 0);
    root.write("sys/class/dmi/id/product_uuid", "7a9c2e9f-b355-1b4e-8f0d-2c6a1b3d4e5f\n");  // byte-swapped fields
    auto r = run_provision({}, &root);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_NE(r.err.find("already provisioned"), std::string::npos) << r.err;
    EXPECT_EQ(imds.requests().size(), 1u);

    root.write("sys/class/dmi/id/product_uuid", "11111111-2222-3333-4444-555555555555\n");  // a new VM from the image
    auto fresh = run_provision({}, &root);
    EXPECT_EQ(fresh.exit_code, 0) << fresh.err;
    EXPECT_EQ(imds.requests().size(), 2u);
}

TEST_F(ProvisionE2E, ReadyNotDeliveredMeansNoMarkerAndARetryNextBoot) {
    HttpServer down([](const RecordedRequest&, int) { return Reply{503, ""}; });
    write_provision_conf(root, {.imds = &imds, .wireserver = &down, .deadline_ms = 300});
    auto r = run_provision({}, &root);
    EXPECT_EQ(r.exit_code, 1);
    EXPECT_NE(r.err.find("Ready was not delivered"), std::string::npos) << r.err;
    EXPECT_FALSE(stat_of(root, kMarker).exists);
    EXPECT_NE(root.read("etc/passwd").find("azureuser"), std::string::npos) << "the steps themselves were applied";

    write_provision_conf(root, {.imds = &imds, .wireserver = &wire});  // next boot: the wireserver answers
    auto next = run_provision({}, &root);
    EXPECT_EQ(next.exit_code, 0) << next.err;
    EXPECT_TRUE(stat_of(root, kMarker).exists);
    EXPECT_EQ(wire.requests_to("/provisioning/health").size(), 1u);
}

TEST_F(ProvisionE2E, SingleStepsRunAloneAndWriteNoMarker) {
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire});
    auto host = run_provision({"--only", "hostname"}, &root);
    ASSERT_EQ(host.exit_code, 0) << host.err;
    EXPECT_EQ(root.read("etc/hostname"), "vm-e2e-01\n");
    EXPECT_EQ(root.read("etc/passwd").find("azureuser"), std::string::npos);
    EXPECT_TRUE(wire.requests().empty());
    EXPECT_FALSE(stat_of(root, kMarker).exists);

    auto ready = run_provision({"--only", "report-ready"}, &root);
    ASSERT_EQ(ready.exit_code, 0) << ready.err;
    EXPECT_EQ(wire.requests_to("/provisioning/health").size(), 1u);
    EXPECT_EQ(imds.requests().size(), 1u) << "reporting alone fetches no metadata";
    EXPECT_FALSE(stat_of(root, kMarker).exists);

    auto bad = run_provision({"--only", "hostname,reboot"}, &root);
    EXPECT_EQ(bad.exit_code, 1);
    EXPECT_NE(bad.err.find("unknown step 'reboot'"), std::string::npos) << bad.err;
}

TEST_F(ProvisionE2E, OvfSourceFromAMediaDirectory) {
    std::string key = ed25519_public_key(9, "ovf");
    root.write("media/ovf-env.xml", R"(<?xml version="1.0" encoding="utf-8"?>
<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:wa="http://schemas.microsoft.com/windowsazure">
  <wa:ProvisioningSection><wa:Version>1.0</wa:Version>
    <LinuxProvisioningConfigurationSet xmlns="http://schemas.microsoft.com/windowsazure">
      <ConfigurationSetType>LinuxProvisioningConfiguration</ConfigurationSetType>
      <HostName>ovf-host</HostName><UserName>ovfadmin</UserName><UserPassword/>
      <DisableSshPasswordAuthentication>true</DisableSshPasswordAuthentication>
      <SSH><PublicKeys><PublicKey><Path>/home/ovfadmin/.ssh/authorized_keys</Path><Value>)" + key + R"(</Value></PublicKey></PublicKeys></SSH>
    </LinuxProvisioningConfigurationSet>
  </wa:ProvisioningSection>
</Environment>
)");
    // IMDS first but unreachable (nothing listens): OVF is used after the IMDS deadline.
    write_provision_conf(root, {.sources = "imds ovf", .wireserver = &wire, .deadline_ms = 200});
    auto r = run_provision({}, &root);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.err.find("metadata: from ovf"), std::string::npos) << r.err;
    EXPECT_EQ(root.read("etc/hostname"), "ovf-host\n");
    EXPECT_EQ(root.read("home/ovfadmin/.ssh/authorized_keys"), key + "\n");
}

TEST_F(ProvisionE2E, ConfigurationDropInsOverrideTheMainFile) {
    write_provision_conf(root, {.imds = &imds, .wireserver = &wire});
    root.write("etc/plumb/provision.conf.d/50-ssh.conf", "[SSH]\nDropIn=/etc/ssh/sshd_config.d/20-site.conf\n[Sudo]\nEnabled=no\n");
    auto r = run_provision({}, &root);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(stat_of(root, "etc/ssh/sshd_config.d/20-site.conf").exists);
    EXPECT_FALSE(stat_of(root, "etc/ssh/sshd_config.d/10-plumb-provision.conf").exists);
    EXPECT_FALSE(stat_of(root, "etc/sudoers.d/90-plumb-provision").exists);
}
