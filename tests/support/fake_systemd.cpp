// A private dbus-daemon and a fake org.freedesktop.systemd1 Manager for tests (see fake_systemd.hpp).
#include "fake_systemd.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <thread>

#include <systemd/sd-bus.h>

extern char** environ;

namespace plumb::test {

// ---- PrivateBus ----

PrivateBus::PrivateBus() {
    const std::string config = dir_ / "bus.conf";
    const std::string socket = dir_ / "bus.socket";
    dir_.write("bus.conf",
               "<!DOCTYPE busconfig PUBLIC \"-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN\"\n"
               " \"http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd\">\n"
               "<busconfig>\n  <type>custom</type>\n  <listen>unix:path=" + socket + "</listen>\n"
               "  <auth>EXTERNAL</auth>\n"
               "  <policy context=\"default\">\n    <allow user=\"*\"/>\n    <allow own=\"*\"/>\n"
               "    <allow send_destination=\"*\"/>\n    <allow receive_sender=\"*\"/>\n  </policy>\n</busconfig>\n");
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2: " + std::string(std::strerror(errno)));
    // Only the write end goes to the daemon, which prints its address there once it listens.
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 3);
    const std::string conf = "--config-file=" + config;
    const char* argv[] = {"dbus-daemon", "--nofork", conf.c_str(), "--print-address=3", nullptr};
    pid_t pid = -1;
    int rc = ::posix_spawnp(&pid, "dbus-daemon", &actions, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    if (rc != 0) {
        ::close(fds[0]);
        throw std::runtime_error("cannot start dbus-daemon: " + std::string(std::strerror(rc)));
    }
    pid_ = pid;
    std::string address;
    pollfd p{fds[0], POLLIN, 0};
    while (address.find('\n') == std::string::npos && ::poll(&p, 1, 10000) == 1) {
        char buf[512];
        ssize_t n = ::read(fds[0], buf, sizeof buf);
        if (n <= 0) break;
        address.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    while (!address.empty() && (address.back() == '\n' || address.back() == ' ')) address.pop_back();
    if (address.empty()) {
        // The destructor does not run for a throwing constructor.
        ::kill(pid_, SIGTERM);
        ::waitpid(pid_, nullptr, 0);
        throw std::runtime_error("dbus-daemon did not print its address");
    }
    address_ = address;
}

PrivateBus::~PrivateBus() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
}

// ---- BusCall ----

void PrintTo(const BusCall& call, std::ostream* os) {
    *os << call.method << "(";
    for (std::size_t i = 0; i < call.args.size(); ++i) *os << (i ? ", " : "") << '"' << call.args[i] << '"';
    *os << ")";
}

// ---- FakeSystemd ----

namespace {

constexpr const char* kPath = "/org/freedesktop/systemd1";
constexpr const char* kInterface = "org.freedesktop.systemd1.Manager";
constexpr const char* kNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit";
using Clock = std::chrono::steady_clock;

// Renders the next complete value of `m` as text (see BusCall).
int render_value(sd_bus_message* m, char type, const char* contents, std::string& out) {
    int r;
    if (type == SD_BUS_TYPE_ARRAY || type == SD_BUS_TYPE_STRUCT || type == SD_BUS_TYPE_DICT_ENTRY ||
        type == SD_BUS_TYPE_VARIANT) {
        r = sd_bus_message_enter_container(m, type, contents);
        if (r < 0) return r;
        out = type == SD_BUS_TYPE_ARRAY ? "[" : "(";
        for (bool first = true;; first = false) {
            char t;
            const char* c;
            r = sd_bus_message_peek_type(m, &t, &c);
            if (r < 0) return r;
            if (r == 0) break;
            std::string element;
            r = render_value(m, t, c, element);
            if (r < 0) return r;
            out += (first ? "" : ", ") + element;
        }
        out += type == SD_BUS_TYPE_ARRAY ? "]" : ")";
        return sd_bus_message_exit_container(m);
    }
    union {
        const char* s;
        int b;
        uint8_t y;
        int16_t n;
        uint16_t q;
        int32_t i;
        uint32_t u;
        int64_t x;
        uint64_t t;
        double d;
    } v{};
    r = sd_bus_message_read_basic(m, type, &v);
    if (r < 0) return r;
    switch (type) {
        case SD_BUS_TYPE_STRING:
        case SD_BUS_TYPE_OBJECT_PATH:
        case SD_BUS_TYPE_SIGNATURE: out = v.s; break;
        case SD_BUS_TYPE_BOOLEAN: out = v.b ? "true" : "false"; break;
        case SD_BUS_TYPE_BYTE: out = std::to_string(v.y); break;
        case SD_BUS_TYPE_INT16: out = std::to_string(v.n); break;
        case SD_BUS_TYPE_UINT16: out = std::to_string(v.q); break;
        case SD_BUS_TYPE_INT32: out = std::to_string(v.i); break;
        case SD_BUS_TYPE_UINT32: out = std::to_string(v.u); break;
        case SD_BUS_TYPE_INT64: out = std::to_string(v.x); break;
        case SD_BUS_TYPE_UINT64: out = std::to_string(v.t); break;
        case SD_BUS_TYPE_DOUBLE: out = std::to_string(v.d); break;
        default: out = "?"; break;
    }
    return r;
}

// All arguments of a call as text; the message is rewound for the handler to read.
int render_args(sd_bus_message* m, std::vector<std::string>& out) {
    for (;;) {
        char type;
        const char* contents;
        int r = sd_bus_message_peek_type(m, &type, &contents);
        if (r < 0) return r;
        if (r == 0) break;
        std::string value;
        r = render_value(m, type, contents, value);
        if (r < 0) return r;
        out.push_back(std::move(value));
    }
    return sd_bus_message_rewind(m, 1);
}

struct Strv {
    char** v = nullptr;
    ~Strv() {
        if (!v) return;
        for (char** p = v; *p; ++p) std::free(*p);
        std::free(v);
    }
};

}  // namespace

struct FakeSystemd::State {
    struct Job {
        Clock::time_point due;
        uint32_t id;
        std::string unit, result;
    };

    FakeSystemdOptions options;  // unit_file_states: under mutex; the rest is read-only
    sd_bus* bus = nullptr;
    sd_bus_slot* slot = nullptr;
    std::thread thread;
    std::atomic<bool> stop{false};
    mutable std::mutex mutex;
    std::vector<BusCall> calls;
    std::atomic<uint32_t> signals_sent{0};
    // Server thread only.
    bool subscribed = false;
    uint32_t next_job = 1;
    std::vector<Job> jobs;

    bool known(const std::string& unit) {
        std::lock_guard lock(mutex);
        return options.units.contains(unit) || options.unit_file_states.contains(unit) ||
               options.failing_units.contains(unit);
    }

    static State* record(sd_bus_message* m, void* userdata, int& r) {
        auto* self = static_cast<State*>(userdata);
        BusCall call{sd_bus_message_get_member(m), {}};
        r = render_args(m, call.args);
        std::lock_guard lock(self->mutex);
        self->calls.push_back(std::move(call));
        return self;
    }

    static int get_unit_file_state(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        int r;
        State* self = record(m, userdata, r);
        const char* name = nullptr;
        if (r >= 0) r = sd_bus_message_read(m, "s", &name);
        if (r < 0) return r;
        std::string state;
        {
            std::lock_guard lock(self->mutex);
            auto it = self->options.unit_file_states.find(name);
            if (it == self->options.unit_file_states.end())
                return sd_bus_error_setf(error, SD_BUS_ERROR_FILE_NOT_FOUND, "No such file or directory");
            state = it->second;
        }
        return sd_bus_reply_method_return(m, "s", state.c_str());
    }

    // StartUnit, StopUnit, RestartUnit, ReloadUnit, TryRestartUnit: (name, mode) -> job path.
    static int job_method(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        int r;
        State* self = record(m, userdata, r);
        const char* name = nullptr;
        const char* mode = nullptr;
        if (r >= 0) r = sd_bus_message_read(m, "ss", &name, &mode);
        if (r < 0) return r;
        static const char* const kModes[] = {"replace", "fail", "isolate", "ignore-dependencies",
                                             "ignore-requirements", "flush", "replace-irreversibly"};
        if (std::none_of(std::begin(kModes), std::end(kModes), [&](const char* k) { return std::strcmp(k, mode) == 0; }))
            return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Job mode %s invalid.", mode);
        if (!self->known(name)) return sd_bus_error_setf(error, kNoSuchUnit, "Unit %s not found.", name);
        const uint32_t id = self->next_job++;
        const std::string path = std::string(kPath) + "/job/" + std::to_string(id);
        r = sd_bus_reply_method_return(m, "o", path.c_str());
        if (r < 0) return r;
        if (self->options.send_job_removed)
            self->jobs.push_back(Job{Clock::now() + self->options.job_duration, id, name,
                                     self->options.failing_units.contains(name) ? "failed" : "done"});
        return 1;
    }

    // EnableUnitFiles(as files, b runtime, b force) -> (b carries_install_info, a(sss) changes);
    // DisableUnitFiles(as files, b runtime) -> a(sss) changes.
    static int unit_files_method(sd_bus_message* m, void* userdata, sd_bus_error* error) {
        int r;
        State* self = record(m, userdata, r);
        const bool enable = std::strcmp(sd_bus_message_get_member(m), "EnableUnitFiles") == 0;
        Strv files;
        int runtime = 0, force = 0;
        if (r >= 0) r = sd_bus_message_read_strv(m, &files.v);
        if (r >= 0) r = enable ? sd_bus_message_read(m, "bb", &runtime, &force) : sd_bus_message_read(m, "b", &runtime);
        if (r < 0) return r;
        for (char** f = files.v; f && *f; ++f)
            if (!self->known(*f)) return sd_bus_error_setf(error, kNoSuchUnit, "Unit file %s does not exist.", *f);
        sd_bus_message* reply = nullptr;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0 && enable) r = sd_bus_message_append(reply, "b", 1);
        if (r >= 0) r = sd_bus_message_open_container(reply, SD_BUS_TYPE_ARRAY, "(sss)");
        for (char** f = files.v; r >= 0 && f && *f; ++f) {
            const std::string link = "/etc/systemd/system/multi-user.target.wants/" + std::string(*f);
            const std::string target = "/lib/systemd/system/" + std::string(*f);
            r = enable ? sd_bus_message_append(reply, "(sss)", "symlink", link.c_str(), target.c_str())
                       : sd_bus_message_append(reply, "(sss)", "unlink", link.c_str(), "");
            std::lock_guard lock(self->mutex);
            self->options.unit_file_states[*f] = enable ? "enabled" : "disabled";
        }
        if (r >= 0) r = sd_bus_message_close_container(reply);
        if (r >= 0) r = sd_bus_send(nullptr, reply, nullptr);
        sd_bus_message_unref(reply);
        return r;
    }

    static int reload(sd_bus_message* m, void* userdata, sd_bus_error*) {
        int r;
        record(m, userdata, r);
        return r < 0 ? r : sd_bus_reply_method_return(m, "");
    }

    static int subscribe(sd_bus_message* m, void* userdata, sd_bus_error*) {
        int r;
        State* self = record(m, userdata, r);
        if (r < 0) return r;
        self->subscribed = true;
        return sd_bus_reply_method_return(m, "");
    }

    int emit_job_removed(uint32_t id, const std::string& unit, const std::string& result) {
        const std::string path = std::string(kPath) + "/job/" + std::to_string(id);
        return sd_bus_emit_signal(bus, kPath, kInterface, "JobRemoved", "uoss", id, path.c_str(), unit.c_str(),
                                  result.c_str());
    }

    // Ends the jobs that are due; returns how long until the next one is (at most 100 ms).
    uint64_t finish_due_jobs() {
        const auto now = Clock::now();
        auto next = now + std::chrono::milliseconds(100);
        for (auto it = jobs.begin(); it != jobs.end();) {
            if (it->due > now) {
                next = std::min(next, it->due);
                ++it;
                continue;
            }
            // systemd only announces job ends while someone is subscribed.
            if (subscribed) {
                if (options.unrelated_job_removed_first) emit_job_removed(it->id + 100000, "unrelated.service", "failed");
                // Counted before sending: the client may return and the test read the count before we go on.
                ++signals_sent;
                emit_job_removed(it->id, it->unit, it->result);
            }
            it = jobs.erase(it);
        }
        return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(next - now).count());
    }

    void serve() {
        while (!stop) {
            int r = sd_bus_process(bus, nullptr);
            if (r < 0) break;
            if (r > 0) continue;
            sd_bus_wait(bus, finish_due_jobs());
        }
    }
};

FakeSystemd::FakeSystemd(const std::string& address, FakeSystemdOptions options) : state_(std::make_unique<State>()) {
    static const sd_bus_vtable kVtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("GetUnitFileState", "s", "s", &State::get_unit_file_state, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("StartUnit", "ss", "o", &State::job_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("StopUnit", "ss", "o", &State::job_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RestartUnit", "ss", "o", &State::job_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("ReloadUnit", "ss", "o", &State::job_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("TryRestartUnit", "ss", "o", &State::job_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("EnableUnitFiles", "asbb", "ba(sss)", &State::unit_files_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("DisableUnitFiles", "asb", "a(sss)", &State::unit_files_method, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", "", "", &State::reload, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Subscribe", "", "", &State::subscribe, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_SIGNAL("JobRemoved", "uoss", 0),
        SD_BUS_VTABLE_END,
    };
    State& s = *state_;
    s.options = std::move(options);
    int r = sd_bus_new(&s.bus);
    if (r >= 0) r = sd_bus_set_address(s.bus, address.c_str());
    if (r >= 0) r = sd_bus_set_bus_client(s.bus, 1);
    if (r >= 0) r = sd_bus_start(s.bus);
    if (r >= 0) r = sd_bus_add_object_vtable(s.bus, &s.slot, kPath, kInterface, kVtable, &s);
    if (r >= 0) r = sd_bus_request_name(s.bus, "org.freedesktop.systemd1", 0);
    if (r < 0) {
        sd_bus_slot_unref(s.slot);
        sd_bus_flush_close_unref(s.bus);
        throw std::runtime_error("fake systemd on " + address + ": " + std::strerror(-r));
    }
    s.thread = std::thread([&s] { s.serve(); });
}

namespace {
FakeSystemdOptions with_states(std::map<std::string, std::string> unit_file_states) {
    FakeSystemdOptions options;
    options.unit_file_states = std::move(unit_file_states);
    return options;
}
}  // namespace

FakeSystemd::FakeSystemd(const std::string& address, std::map<std::string, std::string> unit_file_states)
    : FakeSystemd(address, with_states(std::move(unit_file_states))) {}

FakeSystemd::~FakeSystemd() {
    state_->stop = true;
    state_->thread.join();
    sd_bus_slot_unref(state_->slot);
    sd_bus_flush_close_unref(state_->bus);
}

std::vector<BusCall> FakeSystemd::calls() const {
    std::lock_guard lock(state_->mutex);
    return state_->calls;
}

std::vector<std::vector<std::string>> FakeSystemd::calls_of(const std::string& method) const {
    std::vector<std::vector<std::string>> out;
    for (auto& c : calls())
        if (c.method == method) out.push_back(c.args);
    return out;
}

std::optional<std::string> FakeSystemd::unit_file_state(const std::string& unit) const {
    std::lock_guard lock(state_->mutex);
    auto it = state_->options.unit_file_states.find(unit);
    if (it == state_->options.unit_file_states.end()) return std::nullopt;
    return it->second;
}

std::uint32_t FakeSystemd::jobs_finished() const { return state_->signals_sent; }

}  // namespace plumb::test
