// Fixture roots and metadata for the provisioning tests: a root that useradd --root accepts (account databases,
// login.defs, skel) with a product_uuid, a provision.conf pointing at loopback servers with millisecond retry
// intervals, IMDS documents, well-formed SSH public keys, and a snapshot of a whole root to prove that a rejected
// run changed nothing.
#pragma once

// GCC 12 warns about members left out of designated initializers even when they have default member initializers
// (GCC bug 96868, fixed in 13); the tests configure fixtures that way on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_server.hpp"
#include "plumb_test.hpp"

namespace plumb::test {

// Copies tests/fixtures/provisioning/root into `root` and gives the account databases their real modes.
void make_provision_root(const TempRoot& root);

// Writes /etc/plumb/provision.conf in the root: sources, endpoints of the given servers (nullptr: an address
// nothing listens on), retry interval/deadline in milliseconds, baseline (empty: disabled), and extra lines.
struct ProvisionConf {
    std::string sources = "imds";
    const HttpServer* imds = nullptr;
    const HttpServer* wireserver = nullptr;
    int interval_ms = 20;
    int deadline_ms = 2000;
    int attempt_timeout_ms = 1000;
    std::string baseline;        // e.g. "cis"
    std::string extra;           // appended verbatim (more sections)
};
void write_provision_conf(const TempRoot& root, const ProvisionConf& conf);

// A well-formed ssh-ed25519 public key line (type + base64 blob of 32 bytes derived from `seed`) + comment.
std::string ed25519_public_key(int seed, const std::string& comment = "");
std::string base64_encode(const std::string& bytes);

// An IMDS /metadata/instance document with the fields plumb-provision reads.
struct ImdsDoc {
    std::string user = "azureuser";
    std::string host = "vm-e2e-01";
    nlohmann::json disable_password = "true";
    std::vector<std::pair<std::string, std::string>> keys;  // keyData, path
    std::string user_data;                                   // raw; base64-encoded into the document
};
std::string imds_json(const ImdsDoc& doc);

// The wireserver goal-state document.
std::string goal_state_xml();

// Every entry under the root (without following symlinks): type, mode, owner, and the bytes of files.
std::map<std::string, std::string> snapshot(const TempRoot& root);

// Runs bin/plumb-provision with the arguments (plus --root when `root` is set).
ProcessResult run_provision(const std::vector<std::string>& args, const TempRoot* root, int timeout_sec = 30);

}  // namespace plumb::test
