// Live firewall tests run in a network namespace of their own, so that they never see or change the host's ruleset:
// call enter_private_netns() before the first netlink or nft use (a gtest Environment does it), and skip the test
// with the reason when it returns false. The test process must still be single-threaded at that point (unshare of a
// user namespace requires it, and a network namespace change applies to the calling thread only); children it starts
// afterwards (nft) inherit the namespace.
#pragma once

#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace plumb::firewall::test {

namespace detail {

inline bool write_proc(const char* path, const std::string& text) {
    int fd = ::open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return false;
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ::close(fd);
    return ok;
}

// lo starts down in a new namespace; bring it up so that iif "lo" has its usual index (1) and loopback traffic works.
inline bool bring_lo_up(std::string* why) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *why = std::string("socket(AF_INET) in the new namespace: ") + std::strerror(errno);
        return false;
    }
    ifreq ifr{};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    bool ok = ::ioctl(fd, SIOCGIFFLAGS, &ifr) == 0;
    if (ok) {
        ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP);
        ok = ::ioctl(fd, SIOCSIFFLAGS, &ifr) == 0;
    }
    if (!ok) *why = std::string("bringing lo up: ") + std::strerror(errno);
    ::close(fd);
    return ok;
}

}  // namespace detail

// Idempotent: the first call decides for the whole process. `why` receives the reason when it returns false.
inline bool enter_private_netns(std::string* why) {
    static int state = 0;  // 0 not tried, 1 entered, -1 impossible
    static std::string reason;
    if (state == 0) {
        state = -1;
        if (::unshare(CLONE_NEWNET) != 0) {
            const int err = errno;
            // Without CAP_SYS_ADMIN, a user namespace of our own grants CAP_NET_ADMIN over a new network namespace.
            const uid_t uid = ::getuid();
            const gid_t gid = ::getgid();
            if (::unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
                reason = std::string("cannot create a network namespace: unshare(CLONE_NEWNET): ") + std::strerror(err) +
                         "; unshare(CLONE_NEWUSER|CLONE_NEWNET): " + std::strerror(errno);
            } else {
                detail::write_proc("/proc/self/setgroups", "deny");
                if (!detail::write_proc("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1\n") ||
                    !detail::write_proc("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1\n"))
                    reason = std::string("user namespace id maps: ") + std::strerror(errno);
                else if (detail::bring_lo_up(&reason))
                    state = 1;
            }
        } else if (detail::bring_lo_up(&reason)) {
            state = 1;
        }
    }
    if (state != 1 && why) *why = reason;
    return state == 1;
}

// The absolute path of a system tool (tests exec without a PATH search), or "" when it is not installed.
inline std::string find_tool(const std::string& name) {
    for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"})
        if (::access((dir + name).c_str(), X_OK) == 0) return dir + name;
    return {};
}

}  // namespace plumb::firewall::test
