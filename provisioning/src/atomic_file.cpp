#include "atomic_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>

namespace plumb::provision {

namespace {

std::string temp_name(const std::string& name) {
    unsigned char r[6] = {};
    if (getrandom(r, sizeof r, 0) != static_cast<ssize_t>(sizeof r)) {
        for (auto& b : r) b = static_cast<unsigned char>(std::rand());
    }
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5]);
    return "." + name + ".plumb-" + suffix;
}

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(errno, what);
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

}  // namespace

Result<void> write_file_atomic(const SafeRoot& root, const std::string& path, std::string_view content, mode_t mode,
                               Ownership owner) {
    const std::string shown = normalize_root_path(path);
    auto entry = root.open_parent(path);
    if (!entry) return std::unexpected(entry.error());
    const int dir = entry->dir.get();
    const std::string tmp = temp_name(entry->name);
    UniqueFd fd(::openat(dir, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return fail_errno(errno, shown + ": creating temporary file");
    auto undo = [&](Error e) -> Result<void> {
        ::unlinkat(dir, tmp.c_str(), 0);
        return std::unexpected(std::move(e));
    };
    if (auto w = write_all(fd.get(), content, shown); !w) return undo(w.error());
    if (::fchown(fd.get(), owner.uid, owner.gid) != 0) return undo(Error::from_errno(errno, shown + ": chown"));
    if (::fchmod(fd.get(), mode) != 0) return undo(Error::from_errno(errno, shown + ": chmod"));
    if (::fsync(fd.get()) != 0) return undo(Error::from_errno(errno, shown + ": fsync"));
    if (::renameat(dir, tmp.c_str(), dir, entry->name.c_str()) != 0) return undo(Error::from_errno(errno, shown + ": rename"));
    if (::fsync(dir) != 0) return fail_errno(errno, shown + ": fsync of the directory");
    return {};
}

Result<bool> ensure_directory(const SafeRoot& root, const std::string& path, mode_t mode, Ownership owner, bool parents) {
    const std::string shown = normalize_root_path(path);
    bool changed = false;
    if (parents) {
        // Each missing ancestor becomes a root-owned 0755 directory; existing ones are left as they are.
        for (size_t slash = shown.find('/', 1); slash != std::string::npos; slash = shown.find('/', slash + 1)) {
            std::string ancestor = shown.substr(0, slash);
            auto st = root.stat(ancestor, /*follow_symlinks=*/false);
            if (st && st->type == FileType::directory) continue;
            if (st) return fail(ENOTDIR, ancestor + ": exists and is not a directory");
            auto made = ensure_directory(root, ancestor, 0755);
            if (!made) return made;
            changed = true;
        }
    }
    auto entry = root.open_parent(path);
    if (!entry) return std::unexpected(entry.error());
    if (::mkdirat(entry->dir.get(), entry->name.c_str(), mode) == 0) changed = true;
    else if (errno != EEXIST) return fail_errno(errno, shown + ": mkdir");
    // O_NOFOLLOW | O_DIRECTORY: a symlink planted at this name is refused rather than followed.
    UniqueFd fd(::openat(entry->dir.get(), entry->name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return fail_errno(errno, shown + ": not a directory (or a symlink, which is refused)");
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return fail_errno(errno, shown);
    if (st.st_uid != owner.uid || st.st_gid != owner.gid) {
        if (::fchown(fd.get(), owner.uid, owner.gid) != 0) return fail_errno(errno, shown + ": chown");
        changed = true;
    }
    if ((st.st_mode & 07777) != mode) {
        if (::fchmod(fd.get(), mode) != 0) return fail_errno(errno, shown + ": chmod");
        changed = true;
    }
    if (changed && ::fsync(entry->dir.get()) != 0) return fail_errno(errno, shown + ": fsync of the parent");
    return changed;
}

Result<bool> remove_file(const SafeRoot& root, const std::string& path) {
    auto entry = root.open_parent(path);
    if (!entry) {
        if (entry.error().code == ENOENT) return false;
        return std::unexpected(entry.error());
    }
    if (::unlinkat(entry->dir.get(), entry->name.c_str(), 0) != 0) {
        if (errno == ENOENT) return false;
        return fail_errno(errno, normalize_root_path(path));
    }
    ::fsync(entry->dir.get());
    return true;
}

}  // namespace plumb::provision
