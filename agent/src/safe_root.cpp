#include "plumb/safe_root.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

namespace plumb {

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = o.release();
    }
    return *this;
}

UniqueFd::~UniqueFd() {
    if (fd_ >= 0) ::close(fd_);
}

std::string normalize_root_path(const std::string& path) {
    std::string out;
    size_t i = 0;
    while (i <= path.size()) {
        size_t j = path.find('/', i);
        if (j == std::string::npos) j = path.size();
        std::string_view part(path.data() + i, j - i);
        if (!part.empty() && part != ".") {
            out += '/';
            out += part;
        }
        i = j + 1;
    }
    return out.empty() ? "/" : out;
}

namespace {

// Path relative to the root directory descriptor; "." for the root itself.
std::string relative(const std::string& path) {
    std::string n = normalize_root_path(path);
    return n == "/" ? "." : n.substr(1);
}

long openat2_in_root(int dirfd, const std::string& rel, int flags, unsigned mode, bool follow_last) {
    open_how how{};
    how.flags = static_cast<unsigned long long>(flags | O_CLOEXEC | (follow_last ? 0 : O_NOFOLLOW));
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    long fd;
    do {
        fd = syscall(SYS_openat2, dirfd, rel.c_str(), &how, sizeof how);
    } while (fd < 0 && errno == EAGAIN);  // EAGAIN: a concurrent rename raced the resolution; retry
    return fd;
}

FileType type_of(mode_t m) {
    if (S_ISREG(m)) return FileType::regular;
    if (S_ISDIR(m)) return FileType::directory;
    if (S_ISLNK(m)) return FileType::symlink;
    return FileType::other;
}

}  // namespace

Result<SafeRoot> SafeRoot::open(const std::string& root_path) {
    int fd = ::open(root_path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return fail_errno(errno, "root " + root_path);
    return SafeRoot(root_path, UniqueFd(fd));
}

Result<UniqueFd> SafeRoot::open_at(const std::string& path, int flags, unsigned mode, bool follow_last) const {
    long fd = openat2_in_root(root_fd_.get(), relative(path), flags, mode, follow_last);
    if (fd < 0) return fail_errno(errno, normalize_root_path(path));
    return UniqueFd(static_cast<int>(fd));
}

Result<std::string> SafeRoot::read_file(const std::string& path, std::size_t max_size) const {
    auto fd = open_at(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!fd) return std::unexpected(fd.error());
    struct stat st {};
    if (fstat(fd->get(), &st) < 0) return fail_errno(errno, normalize_root_path(path));
    if (S_ISDIR(st.st_mode)) return fail_errno(EISDIR, normalize_root_path(path));
    if (!S_ISREG(st.st_mode)) return fail(EINVAL, normalize_root_path(path) + ": not a regular file");
    std::string data;
    // /proc and /sys files report size 0: read until EOF rather than trusting st_size.
    data.resize(st.st_size > 0 ? static_cast<size_t>(st.st_size) : 4096);
    size_t used = 0;
    for (;;) {
        if (used == data.size()) {
            if (data.size() >= max_size) return fail(EFBIG, normalize_root_path(path) + ": larger than " + std::to_string(max_size) + " bytes");
            data.resize(std::min(max_size, data.size() * 2));
        }
        ssize_t n = ::read(fd->get(), data.data() + used, data.size() - used);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(errno, normalize_root_path(path));
        }
        if (n == 0) break;
        used += static_cast<size_t>(n);
    }
    data.resize(used);
    return data;
}

Result<FileStat> SafeRoot::stat(const std::string& path, bool follow_symlinks) const {
    auto fd = open_at(path, O_PATH, 0, follow_symlinks);
    if (!fd) return std::unexpected(fd.error());
    struct stat st {};
    if (fstatat(fd->get(), "", &st, AT_EMPTY_PATH) < 0) return fail_errno(errno, normalize_root_path(path));
    return FileStat{type_of(st.st_mode), static_cast<std::uint32_t>(st.st_mode & 07777), st.st_uid, st.st_gid,
                    static_cast<std::uint64_t>(st.st_size), st.st_mtim.tv_sec};
}

Result<std::vector<std::string>> SafeRoot::list_dir(const std::string& path) const {
    auto fd = open_at(path, O_RDONLY | O_DIRECTORY);
    if (!fd) return std::unexpected(fd.error());
    DIR* dir = fdopendir(fd->get());
    if (!dir) return fail_errno(errno, normalize_root_path(path));
    fd->release();  // owned by dir now
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = readdir(dir)) {
        std::string_view n = e->d_name;
        if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    closedir(dir);
    if (err) return fail_errno(err, normalize_root_path(path));
    std::sort(names.begin(), names.end());
    return names;
}

Result<std::string> SafeRoot::read_link(const std::string& path) const {
    auto fd = open_at(path, O_PATH, 0, /*follow_last=*/false);
    if (!fd) return std::unexpected(fd.error());
    std::string buf(256, '\0');
    for (;;) {
        ssize_t n = readlinkat(fd->get(), "", buf.data(), buf.size());
        if (n < 0) return fail_errno(errno == ENOENT ? EINVAL : errno, normalize_root_path(path));
        if (static_cast<size_t>(n) < buf.size()) {
            buf.resize(static_cast<size_t>(n));
            return buf;
        }
        buf.resize(buf.size() * 2);
    }
}

Result<SafeRoot::Entry> SafeRoot::open_parent(const std::string& path) const {
    std::string n = normalize_root_path(path);
    if (n == "/") return fail(EINVAL, "/: the root has no parent entry");
    size_t slash = n.rfind('/');
    std::string name = n.substr(slash + 1);
    if (name == "..") return fail(EINVAL, n + ": path ends in '..'");
    auto dir = open_at(slash == 0 ? "/" : n.substr(0, slash), O_RDONLY | O_DIRECTORY);
    if (!dir) return std::unexpected(dir.error());
    return Entry{std::move(*dir), std::move(name)};
}

}  // namespace plumb
