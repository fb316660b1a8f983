// plumb-provision: the first-boot provisioner. See provisioner.hpp for what a run does and README.md for usage.
#include <cstdio>
#include <cstring>
#include <string>

#include "provisioner.hpp"

namespace {

const char* kUsage =
    "usage: plumb-provision [--root DIR] [--only STEP[,STEP...]]\n"
    "       plumb-provision [--root DIR] clean\n"
    "       plumb-provision --version\n"
    "steps: hostname, user, sudoers, sshd, keys, user-data, baseline, report-ready\n"
    "configuration: /etc/plumb/provision.conf and plumb/provision.conf.d/*.conf, inside the root\n";

int usage_error(const std::string& why) {
    std::fprintf(stderr, "plumb-provision: %s\n%s", why.c_str(), kUsage);
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    using plumb::provision::Options;
    Options o;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        auto value = [&](std::string& out) {
            if (i + 1 >= argc) return false;
            out = argv[++i];
            return true;
        };
        if (a == "--root") {
            if (!value(o.root) || o.root.empty()) return usage_error("--root needs a directory");
        } else if (a.starts_with("--root=")) {
            o.root = a.substr(7);
        } else if (a == "--only" || a.starts_with("--only=")) {
            std::string list;
            if (a == "--only") {
                if (!value(list)) return usage_error("--only needs a step list");
            } else {
                list = a.substr(7);
            }
            size_t start = 0;
            while (start <= list.size()) {
                size_t comma = list.find(',', start);
                if (comma == std::string::npos) comma = list.size();
                std::string step = list.substr(start, comma - start);
                bool known = false;
                for (const auto& s : plumb::provision::kStepNames) known = known || s == step;
                if (!known) return usage_error("unknown step '" + step + "'");
                o.only.push_back(step);
                start = comma + 1;
            }
        } else if (a == "clean") {
            o.mode = Options::Mode::clean;
        } else if (a == "--version") {
            std::printf("plumb-provision %s\n", PLUMB_VERSION);
            return 0;
        } else if (a == "-h" || a == "--help") {
            std::fputs(kUsage, stdout);
            return 0;
        } else {
            return usage_error("unknown argument '" + a + "'");
        }
    }
    if (o.mode == Options::Mode::clean && !o.only.empty()) return usage_error("clean takes no --only");
    return plumb::provision::run_provisioner(o);
}
