// The one safe-path layer: every path plumb touches on a host or image is resolved inside a root directory with
// openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS), so absolute symlinks, relative symlinks and ".." chains are
// all clamped to the root, the way chroot would see them, and /proc magic links cannot jump out.
#pragma once

#include <string>
#include <vector>

#include "plumb/error.hpp"
#include "plumb/file_source.hpp"

namespace plumb {

// An owned file descriptor.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept;
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd();
    int get() const { return fd_; }
    int release() {
        int f = fd_;
        fd_ = -1;
        return f;
    }
    explicit operator bool() const { return fd_ >= 0; }

private:
    int fd_ = -1;
};

class SafeRoot {
public:
    // Opens the root directory; fails with the path and errno when it is missing or not a directory.
    static Result<SafeRoot> open(const std::string& root_path);

    const std::string& path() const { return path_; }
    int fd() const { return root_fd_.get(); }

    // openat2 inside the root. `path` is absolute or relative to the root; flags are open(2) flags (O_CLOEXEC is
    // always added). With follow_last=false the final component is not followed (O_NOFOLLOW semantics; combine with
    // O_PATH to get a handle on a symlink itself).
    Result<UniqueFd> open_at(const std::string& path, int flags, unsigned mode = 0, bool follow_last = true) const;

    // Reads a whole regular file (at most max_size bytes: larger files fail with EFBIG).
    Result<std::string> read_file(const std::string& path, std::size_t max_size = 64u << 20) const;
    Result<FileStat> stat(const std::string& path, bool follow_symlinks = true) const;
    Result<std::vector<std::string>> list_dir(const std::string& path) const;
    Result<std::string> read_link(const std::string& path) const;

    // Splits "/a/b/c" into the parent directory (opened inside the root, following symlinks only within it) and the
    // last component, for operations that work on a directory entry (rename, unlink, symlink creation).
    struct Entry {
        UniqueFd dir;
        std::string name;
    };
    Result<Entry> open_parent(const std::string& path) const;

private:
    SafeRoot(std::string path, UniqueFd fd) : path_(std::move(path)), root_fd_(std::move(fd)) {}
    std::string path_;
    UniqueFd root_fd_;
};

// Normalises a path as seen inside the root for display and cache keys: "/" + components, without "." or empty
// components ("..": kept; resolution inside the root handles it).
std::string normalize_root_path(const std::string& path);

}  // namespace plumb
