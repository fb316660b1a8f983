// sd-bus for modules: libsystemd loaded on first use (plumb/lazy_library.hpp) and one way to reach the system bus.
// Modules that ask a running service over D-Bus (core: systemd's Manager; firewall: firewalld) share this, so that
// an audit that never talks D-Bus does not map libsystemd.
//
// Test override: when PLUMB_SYSTEM_BUS_ADDRESS is set (secure_getenv, so never for set-user-ID callers), the
// connection goes to that address (a private dbus-daemon) instead of the system bus.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include <systemd/sd-bus.h>

#include "plumb/error.hpp"
#include "plumb/lazy_library.hpp"

namespace plumb::sdk {

struct SdBusApi {
    PLUMB_LAZY_FN(sd_bus_new);
    PLUMB_LAZY_FN(sd_bus_set_address);
    PLUMB_LAZY_FN(sd_bus_set_bus_client);
    PLUMB_LAZY_FN(sd_bus_start);
    PLUMB_LAZY_FN(sd_bus_open_system);
    PLUMB_LAZY_FN(sd_bus_unref);
    PLUMB_LAZY_FN(sd_bus_flush_close_unref);
    PLUMB_LAZY_FN(sd_bus_set_method_call_timeout);
    PLUMB_LAZY_FN(sd_bus_call_method);
    PLUMB_LAZY_FN(sd_bus_get_property_string);
    PLUMB_LAZY_FN(sd_bus_error_has_names_sentinel);
    PLUMB_LAZY_FN(sd_bus_error_free);
    PLUMB_LAZY_FN(sd_bus_message_read);
    PLUMB_LAZY_FN(sd_bus_message_read_strv);
    PLUMB_LAZY_FN(sd_bus_message_enter_container);
    PLUMB_LAZY_FN(sd_bus_message_exit_container);
    PLUMB_LAZY_FN(sd_bus_message_at_end);
    PLUMB_LAZY_FN(sd_bus_message_unref);
};

// One per module (each module is its own shared object); loaded on the first get().
inline LazyLibrary<SdBusApi>& sdbus_library() {
    static LazyLibrary<SdBusApi> lib("libsystemd.so.0", [](auto& l, SdBusApi& a) {
        return l.bind(a.sd_bus_new, "sd_bus_new") && l.bind(a.sd_bus_set_address, "sd_bus_set_address") &&
               l.bind(a.sd_bus_set_bus_client, "sd_bus_set_bus_client") && l.bind(a.sd_bus_start, "sd_bus_start") &&
               l.bind(a.sd_bus_open_system, "sd_bus_open_system") && l.bind(a.sd_bus_unref, "sd_bus_unref") &&
               l.bind(a.sd_bus_flush_close_unref, "sd_bus_flush_close_unref") &&
               l.bind(a.sd_bus_set_method_call_timeout, "sd_bus_set_method_call_timeout") &&
               l.bind(a.sd_bus_call_method, "sd_bus_call_method") &&
               l.bind(a.sd_bus_get_property_string, "sd_bus_get_property_string") &&
               l.bind(a.sd_bus_error_has_names_sentinel, "sd_bus_error_has_names_sentinel") &&
               l.bind(a.sd_bus_error_free, "sd_bus_error_free") && l.bind(a.sd_bus_message_read, "sd_bus_message_read") &&
               l.bind(a.sd_bus_message_read_strv, "sd_bus_message_read_strv") &&
               l.bind(a.sd_bus_message_enter_container, "sd_bus_message_enter_container") &&
               l.bind(a.sd_bus_message_exit_container, "sd_bus_message_exit_container") &&
               l.bind(a.sd_bus_message_at_end, "sd_bus_message_at_end") &&
               l.bind(a.sd_bus_message_unref, "sd_bus_message_unref");
    });
    return lib;
}

// The loaded API, for code that runs only after connect_system_bus() succeeded.
inline const SdBusApi& sdbus() { return sdbus_library().require(); }

struct BusConnection {
    sd_bus* bus = nullptr;  // owned by the caller: sdbus().sd_bus_flush_close_unref(bus)
    std::string address;    // for messages: "the system bus" or the override address without its guid
};

// Connects to the system bus (or the PLUMB_SYSTEM_BUS_ADDRESS override) with a method-call timeout.
inline Result<BusConnection> connect_system_bus(uint64_t method_timeout_usec) {
    auto lib = sdbus_library().get();
    if (!lib) return std::unexpected(lib.error());
    const SdBusApi& b = **lib;
    BusConnection c;
    int rc;
    const char* address = secure_getenv("PLUMB_SYSTEM_BUS_ADDRESS");
    if (address && *address) {
        c.address = address;
        if (auto guid = c.address.find(",guid="); guid != std::string::npos) c.address.erase(guid);
        rc = b.sd_bus_new(&c.bus);
        if (rc >= 0) rc = b.sd_bus_set_address(c.bus, address);  // the full address, guid included
        if (rc >= 0) rc = b.sd_bus_set_bus_client(c.bus, 1);
        if (rc >= 0) rc = b.sd_bus_start(c.bus);
    } else {
        c.address = "the system bus";
        rc = b.sd_bus_open_system(&c.bus);
    }
    if (rc < 0) {
        b.sd_bus_unref(c.bus);
        return fail_errno(-rc, "connecting to " + c.address);
    }
    b.sd_bus_set_method_call_timeout(c.bus, method_timeout_usec);
    return c;
}

}  // namespace plumb::sdk
