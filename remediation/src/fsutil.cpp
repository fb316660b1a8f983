#include "fsutil.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <vector>

namespace plumb::remediation::fsutil {

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::string to_hex(std::string_view data) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(data.size() * 2);
    for (unsigned char c : data) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

Result<std::string> from_hex(std::string_view hex) {
    auto nibble = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        return -1;
    };
    if (hex.size() % 2) return fail_invalid("odd-length hex string");
    std::string out;
    for (size_t i = 0; i < hex.size(); i += 2) {
        int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
        if (hi < 0 || lo < 0) return fail_invalid("invalid hex string");
        out += static_cast<char>(hi << 4 | lo);
    }
    return out;
}

Result<std::string> read_all(int fd, const std::string& what) {
    std::string data;
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(errno, what + ": reading");
        }
        if (n == 0) return data;
        data.append(buf, static_cast<size_t>(n));
    }
}

Result<void> write_all(int fd, std::string_view data, const std::string& what) {
    while (!data.empty()) {
        ssize_t n = ::write(fd, data.data(), data.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return fail_errno(errno, what + ": writing");
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return {};
}

Result<void> fsync_fd(int fd, const std::string& what) {
    if (::fsync(fd) < 0) return fail_errno(errno, what + ": fsync");
    return {};
}

namespace {

Result<std::map<std::string, std::string>> read_xattrs(int fd, const std::string& what) {
    std::map<std::string, std::string> out;
    std::vector<char> names;
    for (;;) {  // sized call, then fetch; retry if the list grew in between (ERANGE)
        ssize_t n = flistxattr(fd, nullptr, 0);
        if (n < 0) {
            if (errno == ENOTSUP) return out;  // the filesystem has no xattrs at all
            return fail_errno(errno, what + ": listing xattrs");
        }
        names.resize(static_cast<size_t>(n));
        n = flistxattr(fd, names.data(), names.size());
        if (n >= 0) {
            names.resize(static_cast<size_t>(n));
            break;
        }
        if (errno != ERANGE) return fail_errno(errno, what + ": listing xattrs");
    }
    for (size_t i = 0; i < names.size();) {
        std::string name(names.data() + i);
        i += name.size() + 1;
        if (name.empty()) continue;
        std::string value;
        for (;;) {
            ssize_t n = fgetxattr(fd, name.c_str(), nullptr, 0);
            if (n < 0) return fail_errno(errno, what + ": reading xattr " + name);
            value.resize(static_cast<size_t>(n));
            n = fgetxattr(fd, name.c_str(), value.data(), value.size());
            if (n >= 0) {
                value.resize(static_cast<size_t>(n));
                break;
            }
            if (errno != ERANGE) return fail_errno(errno, what + ": reading xattr " + name);
        }
        out.emplace(std::move(name), std::move(value));
    }
    return out;
}

// Gives a fresh file the owner, mode and xattrs of `meta`: chown first (it clears setuid bits and file
// capabilities), then chmod, then the xattrs.
Result<void> set_meta(int fd, const Meta& meta, const std::string& what) {
    struct stat st {};
    if (fstat(fd, &st) < 0) return fail_errno(errno, what + ": fstat");
    if ((st.st_uid != meta.uid || st.st_gid != meta.gid) && fchown(fd, meta.uid, meta.gid) < 0)
        return fail_errno(errno, what + ": setting owner " + std::to_string(meta.uid) + ":" + std::to_string(meta.gid));
    if (fchmod(fd, meta.mode & 07777) < 0) return fail_errno(errno, what + ": setting mode");
    for (const auto& [name, value] : meta.xattrs)
        if (fsetxattr(fd, name.c_str(), value.data(), value.size(), 0) < 0)
            return fail_errno(errno, what + ": setting xattr " + name);
    // The fresh inode may carry xattrs the original did not have (inherited ACLs): remove them.
    auto now = read_xattrs(fd, what);
    if (!now) return std::unexpected(now.error());
    for (const auto& [name, value] : *now)
        if (!meta.xattrs.contains(name) && name != "security.selinux" && fremovexattr(fd, name.c_str()) < 0)
            return fail_errno(errno, what + ": removing xattr " + name);
    return {};
}

// Gives the O_TMPFILE inode `fd` the name dirfd/tmp (replacing a leftover of an earlier crash).
Result<void> link_tmpfile(int fd, int dirfd, const std::string& tmp, const std::string& what) {
    unlinkat(dirfd, tmp.c_str(), 0);
    if (linkat(fd, "", dirfd, tmp.c_str(), AT_EMPTY_PATH) == 0) return {};
    // AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; the /proc link works without it.
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (linkat(AT_FDCWD, proc.c_str(), dirfd, tmp.c_str(), AT_SYMLINK_FOLLOW) == 0) return {};
    return fail_errno(errno, what + ": linking the temporary file");
}

}  // namespace

Result<Meta> read_meta(int fd, const std::string& what) {
    struct stat st {};
    if (fstat(fd, &st) < 0) return fail_errno(errno, what + ": fstat");
    auto x = read_xattrs(fd, what);
    if (!x) return std::unexpected(x.error());
    return Meta{static_cast<std::uint32_t>(st.st_mode & 07777), st.st_uid, st.st_gid, std::move(*x)};
}

Result<Current> inspect(int dirfd, const std::string& name, const std::string& what) {
    struct stat st {};
    if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) < 0) {
        if (errno == ENOENT) return Current{};
        return fail_errno(errno, what);
    }
    if (!S_ISREG(st.st_mode)) return Current{Current::other, {}, {}};
    int raw = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (raw < 0) {
        if (errno == ENOENT) return Current{};
        if (errno == ELOOP) return Current{Current::other, {}, {}};
        return fail_errno(errno, what + ": opening");
    }
    UniqueFd fd(raw);
    if (fstat(fd.get(), &st) < 0) return fail_errno(errno, what + ": fstat");
    if (!S_ISREG(st.st_mode)) return Current{Current::other, {}, {}};
    auto content = read_all(fd.get(), what);
    if (!content) return std::unexpected(content.error());
    auto meta = read_meta(fd.get(), what);
    if (!meta) return std::unexpected(meta.error());
    return Current{Current::regular, std::move(*content), std::move(*meta)};
}

Result<void> replace_atomically(int dirfd, const std::string& name, const std::string& tmp, std::string_view content,
                                const Meta& meta, bool no_replace, const std::string& what) {
    // O_TMPFILE: a crash before the link leaves nothing behind. Filesystems without it get a named temporary.
    bool named = false;
    int raw = openat(dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (raw < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
        unlinkat(dirfd, tmp.c_str(), 0);
        raw = openat(dirfd, tmp.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        named = true;
    }
    if (raw < 0) return fail_errno(errno, what + ": creating a temporary file in its directory");
    UniqueFd fd(raw);
    auto cleanup = [&] {
        if (named) unlinkat(dirfd, tmp.c_str(), 0);
    };
    auto done = write_all(fd.get(), content, what);
    if (done) done = set_meta(fd.get(), meta, what);
    if (done) done = fsync_fd(fd.get(), what);
    if (!done) {
        cleanup();
        return done;
    }
    step();
    if (!named) {
        if (auto l = link_tmpfile(fd.get(), dirfd, tmp, what); !l) return l;
        named = true;
        step();
    }
    if (renameat2(dirfd, tmp.c_str(), dirfd, name.c_str(), no_replace ? RENAME_NOREPLACE : 0) < 0) {
        int err = errno;
        cleanup();
        return fail_errno(err, what + ": renaming the new file into place");
    }
    step();
    if (auto s = fsync_fd(dirfd, what + ": directory"); !s) return s;
    step();
    return {};
}

Result<void> remove_entry(int dirfd, const std::string& name, bool missing_ok, const std::string& what) {
    if (unlinkat(dirfd, name.c_str(), 0) < 0) {
        if (errno != ENOENT || !missing_ok) return fail_errno(errno, what + ": removing");
        return {};
    }
    step();
    if (auto s = fsync_fd(dirfd, what + ": directory"); !s) return s;
    step();
    return {};
}

Result<void> write_file(int dirfd, const std::string& name, std::string_view content, const std::string& what) {
    int raw = openat(dirfd, name.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (raw < 0) return fail_errno(errno, what + ": creating");
    UniqueFd fd(raw);
    if (auto w = write_all(fd.get(), content, what); !w) return w;
    return fsync_fd(fd.get(), what);
}

Result<std::string> read_file(int dirfd, const std::string& name, const std::string& what) {
    int raw = openat(dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) return fail_errno(errno, what);
    UniqueFd fd(raw);
    return read_all(fd.get(), what);
}

}  // namespace plumb::remediation::fsutil
