#include "atomic_file.hpp"
#include "exec.hpp"
#include "log.hpp"
#include "plumb/config/text.hpp"
#include "root_accounts.hpp"
#include "steps.hpp"

namespace plumb::provision {

namespace {

// useradd/usermod with --root for an image; every argument is a validated name or a configured path.
Result<void> run_tool(const StepContext& ctx, const std::string& tool, std::vector<std::string> args) {
    std::vector<std::string> argv{tool};
    if (!ctx.live) {
        argv.push_back("--root");
        argv.push_back(ctx.root.path());
    }
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run_command(argv, ctx.config.command_timeout);
    if (!r) return std::unexpected(r.error());
    if (r->exit_code != 0 || r->timed_out) return fail(EIO, r->describe(tool));
    return {};
}

}  // namespace

Result<void> step_user(const StepContext& ctx, const Plan& plan) {
    auto existing = find_user(ctx.root, plan.user);
    if (!existing) return std::unexpected(existing.error());
    if (!*existing) {
        std::vector<std::string> args{"--create-home", "--home-dir", plan.home, "--shell", ctx.config.shell, "--user-group"};
        if (!plan.groups.empty()) {
            args.push_back("--groups");
            args.push_back(config::join(plan.groups, ","));
        }
        args.push_back("--");
        args.push_back(plan.user);
        if (auto r = run_tool(ctx, ctx.config.useradd, args); !r) return r;
        log_line("user: created " + plan.user);
    } else {
        std::vector<std::string> missing;
        for (const auto& g : plan.groups) {
            auto info = find_group(ctx.root, g, plan.user);
            if (!info) return std::unexpected(info.error());
            if (!info->has_member) missing.push_back(g);
        }
        if (!missing.empty()) {
            if (auto r = run_tool(ctx, ctx.config.usermod, {"--append", "--groups", config::join(missing, ","), "--", plan.user}); !r)
                return r;
            log_line("user: added " + plan.user + " to " + config::join(missing, ","));
        }
    }
    auto locked = password_locked(ctx.root, plan.user);
    if (!locked) return std::unexpected(locked.error());
    if (!*locked) {
        if (auto r = run_tool(ctx, ctx.config.usermod, {"--lock", "--", plan.user}); !r) return r;
        log_line("user: locked the password of " + plan.user);
    }
    return {};
}

Result<void> step_sudoers(const StepContext& ctx, const Plan& plan) {
    if (!ctx.config.sudo) return {};
    // The line is built only from a validated user name and fixed text; sudo ignores drop-in names containing '.'
    // or ending in '~', which the configured name must therefore avoid.
    std::string name = ctx.config.sudoers_file.substr(ctx.config.sudoers_file.rfind('/') + 1);
    if (name.empty() || name.find('.') != std::string::npos || name.ends_with("~"))
        return fail_invalid("[Sudo] File=" + ctx.config.sudoers_file + ": sudo ignores drop-ins whose name contains '.' or ends in '~'");
    const std::string content = "# Written by plumb-provision for the provisioned admin user.\n" + plan.user + " ALL=(ALL) NOPASSWD:ALL\n";
    auto current = ctx.root.read_file(ctx.config.sudoers_file, 1u << 16);
    auto st = ctx.root.stat(ctx.config.sudoers_file, false);
    if (current && *current == content && st && st->mode == 0440 && st->uid == 0 && st->gid == 0) return {};
    std::string dir = ctx.config.sudoers_file.substr(0, ctx.config.sudoers_file.rfind('/'));
    if (auto st_dir = ctx.root.stat(dir, false); !st_dir) {
        if (auto d = ensure_directory(ctx.root, dir, 0755, {}, true); !d) return std::unexpected(d.error());
    }
    return write_file_atomic(ctx.root, ctx.config.sudoers_file, content, 0440);
}

Result<void> step_user_data(const StepContext& ctx, const Plan& plan) {
    if (!plan.user_data) return {};
    const std::string path = ctx.config.state_dir + "/user-data";
    auto current = ctx.root.read_file(path, 1u << 20);
    if (current && *current == *plan.user_data) return {};
    if (auto d = ensure_directory(ctx.root, ctx.config.state_dir, 0700, {}, true); !d) return std::unexpected(d.error());
    return write_file_atomic(ctx.root, path, *plan.user_data, 0600);
}

}  // namespace plumb::provision
