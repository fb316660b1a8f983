// The provisioning steps of issue 6 step 3, each idempotent (running it again on a provisioned root changes
// nothing) and each working only through SafeRoot, the atomic writer and argv-only helpers.
#pragma once

#include "config.hpp"
#include "plan.hpp"

namespace plumb::provision {

struct StepContext {
    const ProvisionConfig& config;
    const SafeRoot& root;
    bool live;  // the root is "/" of the running system: the running hostname may be set, useradd needs no --root
};

// /etc/hostname, and on a live system the running hostname: systemd-hostnamed over sd-bus when it answers,
// sethostname(2) otherwise.
Result<void> step_hostname(const StepContext& ctx, const Plan& plan);
// useradd (or usermod -a -G for missing groups), then usermod -L unless the password is already locked.
Result<void> step_user(const StepContext& ctx, const Plan& plan);
// <user> ALL=(ALL) NOPASSWD:ALL in [Sudo] File= (0440 root:root).
Result<void> step_sudoers(const StepContext& ctx, const Plan& plan);
// PasswordAuthentication in [SSH] DropIn= (0600 root:root).
Result<void> step_sshd(const StepContext& ctx, const Plan& plan);
// ~/.ssh (0700) and ~/.ssh/authorized_keys (0600), owned by the user; existing lines are kept.
Result<void> step_keys(const StepContext& ctx, const Plan& plan);
// The decoded user data in <StateDir>/user-data (0600 root:root) for later consumers.
Result<void> step_user_data(const StepContext& ctx, const Plan& plan);

}  // namespace plumb::provision
