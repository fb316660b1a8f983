// plumb-provision's configuration: /etc/plumb/provision.conf with drop-ins plumb/provision.conf.d/*.conf (in /etc,
// /run, /usr/local/lib, /usr/lib), systemd INI syntax, read inside the provisioned root through the project's one
// parser (plumb::config::load_with_dropins). Every endpoint, timeout, the source order, the groups and the
// baseline are settable; the defaults are the Azure ones from issue 6.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "plumb/error.hpp"
#include "plumb/safe_root.hpp"
#include "retry.hpp"

namespace plumb::provision {

struct ProvisionConfig {
    // [Provision]
    std::vector<std::string> sources{"imds", "ovf", "seed"};  // Sources=, tried in this order
    std::string uuid_file = "/sys/class/dmi/id/product_uuid";  // UuidFile=, inside the root
    std::string state_dir = "/var/lib/plumb/provision";        // StateDir=, markers and records, inside the root

    // [IMDS]
    std::string imds_url = "http://169.254.169.254/metadata/instance?api-version=2023-11-15&extended=true";
    RetryPolicy imds_retry{std::chrono::seconds(2), std::chrono::seconds(300), std::chrono::seconds(30)};
    std::size_t imds_max_response = 1u << 20;  // MaxResponseSize=

    // [OVF]
    std::string ovf_device = "/dev/sr0";  // Device=: iso9660/udf media mounted read-only (host path)
    std::string ovf_directory;            // Directory=: a directory holding ovf-env.xml instead (host path)

    // [Seed]
    std::string seed_directory = "/var/lib/cloud/seed/nocloud";  // Directory=, inside the root

    // [User]
    std::vector<std::string> groups;  // Groups=, supplementary groups; each must exist in the root
    std::string shell = "/bin/bash";  // Shell=
    std::string home_base = "/home";  // HomeBase=
    std::string configured_admin;     // ConfiguredAdmin=: the one existing system account that may be provisioned
    std::string useradd = "/usr/sbin/useradd";
    std::string usermod = "/usr/sbin/usermod";
    std::chrono::milliseconds command_timeout{std::chrono::seconds(30)};  // CommandTimeout=

    // [Sudo]
    bool sudo = true;  // Enabled=: write /etc/sudoers.d/90-plumb-provision
    std::string sudoers_file = "/etc/sudoers.d/90-plumb-provision";

    // [SSH]
    std::string sshd_dropin = "/etc/ssh/sshd_config.d/10-plumb-provision.conf";  // DropIn=

    // [Baseline]
    std::string baseline = "sfi";  // Baseline=; empty disables the step. Azure Linux secure defaults.
    std::string plumb_binary;      // Plumb=: default is "plumb" next to plumb-provision
    std::chrono::milliseconds baseline_timeout{std::chrono::seconds(300)};  // Timeout=

    // [Report]
    bool report = true;  // Enabled=
    std::string health_url = "http://168.63.129.16/provisioning/health";  // HealthUrl=
    std::string wireserver_url = "http://168.63.129.16";                  // WireServerUrl=: goal-state fallback
    RetryPolicy report_retry{std::chrono::seconds(2), std::chrono::seconds(120), std::chrono::seconds(30)};

    std::vector<std::string> files;     // configuration files read, for the log
    std::vector<std::string> warnings;  // unknown keys and skipped lines, "file:line: what"
};

// Reads the configuration inside `root`. Missing files leave the defaults; an invalid value is an error naming the
// file and line.
Result<ProvisionConfig> load_config(const SafeRoot& root);

}  // namespace plumb::provision
