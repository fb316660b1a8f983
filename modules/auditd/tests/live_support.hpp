// Shared by the live tests: they change this machine's kernel audit rules, so the previous rule set is saved first
// and restored by an RAII guard, even when an assertion fails; and they are skipped (with the reason) when not root,
// when auditctl is missing, when the kernel does not answer the audit netlink socket, or when its rules are locked.
#pragma once

#include <libaudit.h>
#include <unistd.h>

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "kernel.hpp"
#include "plumb_test.hpp"

namespace plumb::auditd::test {

inline const char* const kAuditctl = "/usr/sbin/auditctl";

// The kernel's rules as raw netlink payloads, to put them back exactly.
inline std::vector<std::vector<char>> raw_rules(int fd) {
    std::vector<std::vector<char>> out;
    if (audit_request_rules_list_data(fd) <= 0) return out;
    auto rep = std::make_unique<audit_reply>();
    for (;;) {
        if (audit_get_reply(fd, rep.get(), GET_REPLY_BLOCKING, 0) <= 0) break;
        if (rep->type == NLMSG_DONE) break;
        if (rep->type == NLMSG_ERROR && rep->error && rep->error->error != 0) break;
        if (rep->type == AUDIT_LIST_RULES && rep->ruledata)
            out.emplace_back(reinterpret_cast<const char*>(rep->ruledata), reinterpret_cast<const char*>(rep->ruledata) + rep->len);
    }
    return out;
}

inline void delete_all(int fd) {
    for (auto& raw : raw_rules(fd)) {
        auto* r = reinterpret_cast<audit_rule_data*>(raw.data());
        audit_delete_rule_data(fd, r, r->flags, r->action);
    }
}

// Saves the kernel's rules and restores them (in order) when it goes out of scope.
class KernelRulesGuard {
public:
    KernelRulesGuard() : fd_(audit_open()) {
        if (fd_ >= 0) saved_ = raw_rules(fd_);
    }
    ~KernelRulesGuard() {
        if (fd_ < 0) return;
        delete_all(fd_);
        for (auto& raw : saved_) {
            auto* r = reinterpret_cast<audit_rule_data*>(raw.data());
            audit_add_rule_data(fd_, r, r->flags, r->action);
        }
        audit_close(fd_);
    }
    KernelRulesGuard(const KernelRulesGuard&) = delete;
    KernelRulesGuard& operator=(const KernelRulesGuard&) = delete;
    int fd() const { return fd_; }
    std::size_t saved_count() const { return saved_.size(); }

private:
    int fd_;
    std::vector<std::vector<char>> saved_;
};

// Why live tests cannot run here, or "" when they can.
inline std::string live_unavailable() {
    if (::geteuid() != 0) return "not root: the audit netlink socket needs CAP_AUDIT_CONTROL";
    if (::access(kAuditctl, X_OK) != 0) return "auditctl is not installed (package auditd)";
    auto sock = AuditSocket::open();
    if (!sock) return "kernel audit interface unavailable: " + sock.error().message;
    auto st = sock->status();
    if (!st) return "the kernel does not answer AUDIT_GET: " + st.error().message;
    if (st->enabled == 2) return "the kernel's audit rules are locked (-e 2) until reboot";
    auto rules = sock->list_rules();
    if (!rules) return "the kernel does not answer AUDIT_LIST_RULES: " + rules.error().message;
    return "";
}

// `auditctl -l` as lines ("No rules" is no rule).
inline std::vector<std::string> auditctl_list() {
    auto listed = plumb::test::run_process({kAuditctl, "-l"});
    std::vector<std::string> lines;
    for (std::size_t s = 0; s < listed.out.size();) {
        auto nl = listed.out.find('\n', s);
        if (nl == std::string::npos) nl = listed.out.size();
        if (nl > s && listed.out.compare(s, nl - s, "No rules") != 0) lines.push_back(listed.out.substr(s, nl - s));
        s = nl + 1;
    }
    return lines;
}

}  // namespace plumb::auditd::test
