#include "kernel.hpp"

#include <libaudit.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>

namespace plumb::auditd {
namespace {

constexpr int kReplyTimeoutMs = 2000;

// One reply into `rep` (its pointers point into rep itself, so it is never copied), waiting at most
// kReplyTimeoutMs: audit_get_reply's blocking mode has no timeout.
Result<void> next_reply(int fd, audit_reply& rep) {
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        int rc = ::poll(&p, 1, kReplyTimeoutMs);
        if (rc < 0 && errno == EINTR) continue;
        if (rc < 0) return fail_errno(errno, "audit netlink socket: poll");
        if (rc == 0) return fail(ETIMEDOUT, "audit netlink socket: no reply from the kernel within 2 s");
        rc = audit_get_reply(fd, &rep, GET_REPLY_NONBLOCKING, 0);
        if (rc > 0) return {};
        if (rc < 0 && errno != EAGAIN && errno != EINTR) return fail_errno(errno, "audit netlink socket: receive");
    }
}

}  // namespace

Result<AuditSocket> AuditSocket::open() {
    int fd = audit_open();
    if (fd < 0) {
        int err = errno ? errno : EPROTONOSUPPORT;
        return fail_errno(err, "audit netlink socket (the kernel has no audit support or it is not reachable here)");
    }
    return AuditSocket(fd);
}

AuditSocket::~AuditSocket() {
    if (fd_ >= 0) audit_close(fd_);
}

Result<std::vector<Rule>> AuditSocket::list_rules() {
    if (audit_request_rules_list_data(fd_) <= 0) return fail_errno(errno ? errno : EIO, "AUDIT_LIST_RULES request");
    std::vector<Rule> rules;
    auto rep = std::make_unique<audit_reply>();  // ~9 KB: not on the stack
    for (;;) {
        auto got = next_reply(fd_, *rep);
        if (!got) return std::unexpected(got.error());
        if (rep->type == NLMSG_DONE) break;
        if (rep->type == NLMSG_ERROR) {
            int err = rep->error ? -rep->error->error : EIO;
            if (err == 0) continue;  // the ACK of the request
            return fail_errno(err, "AUDIT_LIST_RULES");
        }
        if (rep->type != AUDIT_LIST_RULES || !rep->ruledata) continue;
        auto r = from_kernel(*rep->ruledata, static_cast<std::size_t>(rep->len));
        if (!r) return std::unexpected(r.error());
        rules.push_back(std::move(*r));
    }
    return rules;
}

Result<KernelStatus> AuditSocket::status() {
    if (audit_request_status(fd_) <= 0) return fail_errno(errno ? errno : EIO, "AUDIT_GET request");
    auto rep = std::make_unique<audit_reply>();
    for (;;) {
        auto got = next_reply(fd_, *rep);
        if (!got) return std::unexpected(got.error());
        if (rep->type == NLMSG_ERROR) {
            int err = rep->error ? -rep->error->error : EIO;
            if (err == 0) continue;
            return fail_errno(err, "AUDIT_GET");
        }
        if (rep->type != AUDIT_GET || !rep->status) continue;
        KernelStatus s;
        s.enabled = rep->status->enabled;
        s.failure = rep->status->failure;
        s.pid = rep->status->pid;
        s.rate_limit = rep->status->rate_limit;
        s.backlog_limit = rep->status->backlog_limit;
        s.backlog_wait_time = rep->status->backlog_wait_time;
        return s;
    }
}

Result<void> AuditSocket::add_rule(RuleData& rule) {
    // audit_send() waits for the kernel's ACK and returns its negative errno
    int rc = audit_add_rule_data(fd_, rule.get(), static_cast<int>(rule.flags), static_cast<int>(rule.action));
    if (rc < 0) return fail_errno(-rc, "AUDIT_ADD_RULE " + render(rule.rule));
    return {};
}

Result<void> AuditSocket::delete_rule(RuleData& rule) {
    int rc = audit_delete_rule_data(fd_, rule.get(), static_cast<int>(rule.flags), static_cast<int>(rule.action));
    if (rc < 0) return fail_errno(-rc, "AUDIT_DEL_RULE " + render(rule.rule));
    return {};
}

}  // namespace plumb::auditd
