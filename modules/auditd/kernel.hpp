// The running kernel's audit state through libaudit's netlink calls: the loaded rules (AUDIT_LIST_RULES) and the
// status (AUDIT_GET). Needs CAP_AUDIT_CONTROL; a kernel without audit, or a container without the audit netlink
// socket, answers with an error the caller reports.
#pragma once

#include <cstdint>
#include <vector>

#include "plumb/error.hpp"
#include "rules.hpp"

namespace plumb::auditd {

struct KernelStatus {
    std::uint32_t enabled = 0;  // 0 off, 1 on, 2 on and locked (immutable)
    std::uint32_t failure = 0;
    std::uint32_t pid = 0;
    std::uint32_t rate_limit = 0;
    std::uint32_t backlog_limit = 0;
    std::uint32_t backlog_wait_time = 0;
};

// An open audit netlink socket, closed on destruction.
class AuditSocket {
public:
    static Result<AuditSocket> open();
    AuditSocket(AuditSocket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
    AuditSocket& operator=(AuditSocket&&) = delete;
    AuditSocket(const AuditSocket&) = delete;
    ~AuditSocket();
    int fd() const { return fd_; }

    Result<std::vector<Rule>> list_rules();
    Result<KernelStatus> status();
    // AUDIT_ADD_RULE / AUDIT_DEL_RULE, waiting for the kernel's answer (-EEXIST: the same rule is loaded; -ENOENT:
    // no such rule to delete; -EPERM: the rules are locked by -e 2, or no CAP_AUDIT_CONTROL).
    Result<void> add_rule(RuleData& rule);
    Result<void> delete_rule(RuleData& rule);

private:
    explicit AuditSocket(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace plumb::auditd
