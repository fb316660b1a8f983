#include "provision_fixture.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace plumb::test {

namespace fs = std::filesystem;

void make_provision_root(const TempRoot& root) {
    root.copy_from("provisioning/root");
    root.chmod("etc/shadow", 0640);
    root.chmod("etc/gshadow", 0640);
    root.mkdir("home", 0755);
    root.mkdir("etc/sudoers.d", 0755);
    root.mkdir("etc/ssh/sshd_config.d", 0755);
    root.mkdir("etc/plumb", 0755);
}

void write_provision_conf(const TempRoot& root, const ProvisionConf& c) {
    auto ms = [](int v) { return std::to_string(v) + "ms"; };
    std::string url_imds = c.imds ? c.imds->url("/metadata/instance?api-version=2023-11-15&extended=true")
                                  : "http://127.0.0.1:9/metadata/instance";
    std::string wire = c.wireserver ? c.wireserver->url() : "http://127.0.0.1:9";
    std::string text = "[Provision]\nSources=" + c.sources + "\n\n[IMDS]\nUrl=" + url_imds + "\nRetryInterval=" + ms(c.interval_ms) +
                       "\nDeadline=" + ms(c.deadline_ms) + "\nAttemptTimeout=" + ms(c.attempt_timeout_ms) + "\n\n[OVF]\nDirectory=" +
                       (root / "media") + "\n\n[User]\nGroups=adm sudo\n\n[Baseline]\nBaseline=" + c.baseline +
                       "\n\n[Report]\nHealthUrl=" + wire + "/provisioning/health\nWireServerUrl=" + wire +
                       "\nRetryInterval=" + ms(c.interval_ms) + "\nDeadline=" + ms(c.deadline_ms) +
                       "\nAttemptTimeout=" + ms(c.attempt_timeout_ms) + "\n" + c.extra;
    root.write("etc/plumb/provision.conf", text);
}

std::string base64_encode(const std::string& in) {
    static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
        out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], tbl[v & 63]};
    }
    if (i + 1 == in.size()) {
        unsigned v = uint8_t(in[i]) << 16;
        out += {tbl[v >> 18], tbl[(v >> 12) & 63], '=', '='};
    } else if (i + 2 == in.size()) {
        unsigned v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
        out += {tbl[v >> 18], tbl[(v >> 12) & 63], tbl[(v >> 6) & 63], '='};
    }
    return out;
}

std::string ed25519_public_key(int seed, const std::string& comment) {
    std::string blob = std::string("\0\0\0\x0b", 4) + "ssh-ed25519" + std::string("\0\0\0\x20", 4);
    for (int i = 0; i < 32; ++i) blob.push_back(static_cast<char>((seed * 31 + i * 7) & 0xff));
    std::string line = "ssh-ed25519 " + base64_encode(blob);
    return comment.empty() ? line : line + " " + comment;
}

std::string imds_json(const ImdsDoc& d) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& [data, path] : d.keys) keys.push_back({{"keyData", data}, {"path", path}});
    nlohmann::json doc = {{"compute",
                           {{"azEnvironment", "AzurePublicCloud"},
                            {"osProfile", {{"adminUsername", d.user}, {"computerName", d.host}, {"disablePasswordAuthentication", d.disable_password}}},
                            {"publicKeys", keys},
                            {"userData", base64_encode(d.user_data)},
                            {"vmId", "9f2e9c7a-55b3-4e1b-8f0d-2c6a1b3d4e5f"}}},
                          {"network", {{"interface", nlohmann::json::array()}}}};
    return doc.dump();
}

std::string goal_state_xml() {
    return R"(<?xml version="1.0" encoding="utf-8"?>
<GoalState xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:noNamespaceSchemaLocation="goalstate10.xsd">
  <Version>2012-11-30</Version>
  <Incarnation>7</Incarnation>
  <Machine><ExpectedState>Started</ExpectedState></Machine>
  <Container>
    <ContainerId>c6d5b1a2-0000-4000-8000-000000000001</ContainerId>
    <RoleInstanceList>
      <RoleInstance>
        <InstanceId>9f2e9c7a-55b3-4e1b-8f0d-2c6a1b3d4e5f._vm-e2e-01</InstanceId>
        <State>Started</State>
      </RoleInstance>
    </RoleInstanceList>
  </Container>
</GoalState>
)";
}

std::map<std::string, std::string> snapshot(const TempRoot& root) {
    std::map<std::string, std::string> out;
    for (auto it = fs::recursive_directory_iterator(root.path()); it != fs::recursive_directory_iterator(); ++it) {
        struct stat st {};
        ::lstat(it->path().c_str(), &st);
        std::ostringstream desc;
        desc << std::oct << st.st_mode << std::dec << " " << st.st_uid << ":" << st.st_gid;
        if (S_ISREG(st.st_mode)) {
            std::ifstream in(it->path(), std::ios::binary);
            desc << "\n" << in.rdbuf();
        } else if (S_ISLNK(st.st_mode)) {
            desc << " -> " << fs::read_symlink(it->path()).string();
        }
        out[fs::relative(it->path(), root.path()).string()] = desc.str();
    }
    return out;
}

ProcessResult run_provision(const std::vector<std::string>& args, const TempRoot* root, int timeout_sec) {
    std::vector<std::string> argv{build_dir() + "/bin/plumb-provision"};
    if (root) {
        argv.push_back("--root");
        argv.push_back(root->path());
    }
    argv.insert(argv.end(), args.begin(), args.end());
    return run_process(argv, timeout_sec, {"PLUMB_DEVELOPMENT=1"});
}

}  // namespace plumb::test
