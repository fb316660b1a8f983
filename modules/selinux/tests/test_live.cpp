// The live-only procedures on this machine's running kernel, and their offline behaviour. Where the kernel has no
// SELinux (no /sys/fs/selinux) they must say so as notapplicable; where it runs they must give a verdict.
#include <sys/stat.h>

#include <gtest/gtest.h>
#include <selinux/selinux.h>

#include "plumb/plan.hpp"
#include "plumb_test.hpp"

using nlohmann::json;
using plumb::Status;
using plumb::test::describe;
using plumb::test::ModuleHarness;

namespace {

bool selinux_running() { return ::is_selinux_enabled() == 1; }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::pair<const char*, json> kLiveCalls[] = {
    {"selinux.live_mode", {{"equals", "enforcing"}}},
    {"selinux.live_policy_type", {{"equals", "targeted"}}},
    {"selinux.unconfined_daemons", json::object()},
    {"selinux.unconfined_daemons", {{"types", {"unconfined_service_t"}}}},
};

}  // namespace

TEST(SelinuxLive, RunningKernelVerdictOrNotApplicableWithReason) {
    ModuleHarness h("/", true);
    struct stat st {};
    const bool selinuxfs = ::stat("/sys/fs/selinux/enforce", &st) == 0;
    ASSERT_EQ(selinuxfs, selinux_running()) << "libselinux and /sys/fs/selinux disagree";
    for (const auto& [proc, args] : kLiveCalls) {
        auto o = h.run(proc, args);
        if (selinux_running()) {
            EXPECT_TRUE(o.status == Status::pass || o.status == Status::fail) << proc << "\n" << describe(o);
            continue;
        }
        ASSERT_EQ(o.status, Status::notapplicable) << proc << "\n" << describe(o);
        ASSERT_EQ(o.reasons.size(), 1u);
        EXPECT_TRUE(o.reasons[0].code == "selinux_not_in_kernel" || o.reasons[0].code == "selinux_disabled") << o.reasons[0].code;
        EXPECT_TRUE(has(o.reasons[0].phrase, "selinuxfs")) << o.reasons[0].phrase;
    }
}

TEST(SelinuxLive, NoLiveRemediationWithoutSelinux) {
    if (selinux_running()) GTEST_SKIP() << "SELinux runs here: security_setenforce would change this machine";
    ModuleHarness h("/", true);
    plumb::Plan plan;
    auto o = h.context().remediate("selinux", "live_mode", {{"equals", "enforcing"}}, plan, "selinux_state");
    EXPECT_EQ(o.status, Status::notapplicable) << describe(o);
    EXPECT_TRUE(plan.live_actions.empty());
}

TEST(SelinuxLive, OfflineRootIsNotApplicable) {
    plumb::test::TempRoot r;
    r.copy_from("selinux/compliant");
    ModuleHarness h(r.path());
    for (const auto& [proc, args] : kLiveCalls) {
        auto o = h.run(proc, args);
        EXPECT_EQ(o.status, Status::notapplicable) << proc;
        ASSERT_FALSE(o.reasons.empty());
        EXPECT_EQ(o.reasons[0].code, "live_only");
    }
    plumb::Plan plan;
    EXPECT_EQ(h.context().remediate("selinux", "live_mode", {{"equals", "enforcing"}}, plan, "r").status, Status::notapplicable);
    EXPECT_TRUE(plan.live_actions.empty());
}
