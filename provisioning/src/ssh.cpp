#include <fcntl.h>
#include <unistd.h>

#include <algorithm>

#include "atomic_file.hpp"
#include "log.hpp"
#include "plumb/config/text.hpp"
#include "root_accounts.hpp"
#include "steps.hpp"

namespace plumb::provision {

namespace {

// The file's contents without following a symlink at its name (ELOOP then); "" when it does not exist.
Result<std::string> read_no_follow(const SafeRoot& root, const std::string& path) {
    auto fd = root.open_at(path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0, /*follow_last=*/false);
    if (!fd) {
        if (fd.error().code == ENOENT) return std::string();
        if (fd.error().code == ELOOP) return fail(ELOOP, normalize_root_path(path) + " is a symlink; refusing to use it");
        return std::unexpected(fd.error());
    }
    std::string data;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd->get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail_errno(errno, normalize_root_path(path));
        if (n == 0) return data;
        data.append(buf, static_cast<size_t>(n));
        if (data.size() > (4u << 20)) return fail(EFBIG, normalize_root_path(path) + " is larger than 4 MiB");
    }
}

}  // namespace

Result<void> step_sshd(const StepContext& ctx, const Plan& plan) {
    const std::string& path = ctx.config.sshd_dropin;
    // sshd takes the first value it reads for a keyword and Debian's sshd_config includes sshd_config.d/*.conf at
    // its top, in name order: a low number keeps this setting ahead of later drop-ins.
    const std::string content = "# Written by plumb-provision from the platform's provisioning metadata.\nPasswordAuthentication " +
                                std::string(plan.disable_password_authentication ? "no" : "yes") + "\n";
    auto current = ctx.root.read_file(path, 1u << 16);
    auto st = ctx.root.stat(path, false);
    if (current && *current == content && st && st->mode == 0600 && st->uid == 0) return {};
    if (auto d = ensure_directory(ctx.root, path.substr(0, path.rfind('/')), 0755, {}, true); !d) return std::unexpected(d.error());
    return write_file_atomic(ctx.root, path, content, 0600);
}

Result<void> step_keys(const StepContext& ctx, const Plan& plan) {
    auto user = find_user(ctx.root, plan.user);
    if (!user) return std::unexpected(user.error());
    if (!*user) return fail(ENOENT, "user " + plan.user + " does not exist in /etc/passwd");
    const Ownership owner{(*user)->uid, (*user)->gid};
    const std::string home = (*user)->home;
    auto home_st = ctx.root.stat(home, /*follow_symlinks=*/false);
    if (!home_st) return fail(home_st.error().code, "home directory of " + plan.user + ": " + home_st.error().message);
    if (home_st->type != FileType::directory) return fail(ENOTDIR, home + " (home of " + plan.user + ") is not a directory");

    const std::string dir = home + "/.ssh", file = dir + "/authorized_keys";
    if (auto d = ensure_directory(ctx.root, dir, 0700, owner); !d) return std::unexpected(d.error());
    auto existing = read_no_follow(ctx.root, file);
    if (!existing) return std::unexpected(existing.error());

    std::vector<std::string> lines = config::split_lines(*existing);
    size_t added = 0;
    for (const auto& key : plan.keys) {
        std::string line = key.line();
        if (std::find(lines.begin(), lines.end(), line) == lines.end()) {
            lines.push_back(line);
            ++added;
        }
    }
    std::string content;
    for (const auto& l : lines) content += l + "\n";
    auto st = ctx.root.stat(file, false);
    if (added == 0 && content == *existing && st && st->mode == 0600 && st->uid == owner.uid && st->gid == owner.gid) return {};
    if (auto w = write_file_atomic(ctx.root, file, content, 0600, owner); !w) return w;
    log_line("keys: " + std::to_string(added) + " key(s) added to " + file);
    return {};
}

}  // namespace plumb::provision
