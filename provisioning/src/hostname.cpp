#include <unistd.h>

#include <cstring>
#include <memory>


#include "atomic_file.hpp"
#include "log.hpp"
#include "plumb/config/text.hpp"
#include "plumb/sdbus.hpp"
#include "steps.hpp"

namespace plumb::provision {

namespace {

// systemd-hostnamed's SetStaticHostname and SetHostname; fails when the bus or the service is not there. libsystemd
// is loaded only here (plumb/sdbus.hpp), so a provisioning run that never needs hostnamed does not map it.
Result<void> set_via_hostnamed(const std::string& name) {
    auto conn = sdk::connect_system_bus(10 * 1000 * 1000);
    if (!conn) return std::unexpected(conn.error());
    const auto& b = sdk::sdbus();
    std::unique_ptr<sd_bus, decltype(b.sd_bus_flush_close_unref)> bus(conn->bus, b.sd_bus_flush_close_unref);
    for (const char* method : {"SetStaticHostname", "SetHostname"}) {
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = b.sd_bus_call_method(bus.get(), "org.freedesktop.hostname1", "/org/freedesktop/hostname1",
                                     "org.freedesktop.hostname1", method, &error, nullptr, "sb", name.c_str(), 0);
        std::string why = error.message ? error.message : "";
        b.sd_bus_error_free(&error);
        if (r < 0) return fail(-r, std::string("hostnamed ") + method + " on " + conn->address + ": " + (why.empty() ? std::strerror(-r) : why));
    }
    return {};
}

}  // namespace

Result<void> step_hostname(const StepContext& ctx, const Plan& plan) {
    if (plan.hostname.empty()) {
        log_line("hostname: the metadata sets none; left alone");
        return {};
    }
    auto current = ctx.root.read_file("/etc/hostname", 4096);
    if (!current || config::trim(*current) != plan.hostname) {
        if (auto w = write_file_atomic(ctx.root, "/etc/hostname", plan.hostname + "\n", 0644); !w) return w;
    }
    if (!ctx.live) return {};  // an image: there is no running hostname to set
    char running[256] = {};
    ::gethostname(running, sizeof running - 1);
    if (plan.hostname == running) return {};
    if (auto bus = set_via_hostnamed(plan.hostname); bus) return {};
    else log_line("hostname: " + bus.error().message + "; using sethostname(2)");
    if (::sethostname(plan.hostname.c_str(), plan.hostname.size()) != 0) return fail_errno(errno, "sethostname");
    return {};
}

}  // namespace plumb::provision
