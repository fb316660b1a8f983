// Low-level file operations of the transaction layer: hashing, whole-file I/O on descriptors, metadata (owner,
// mode, xattrs) and the atomic replace (temporary file in the same directory, fsync, rename, fsync of the directory).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "plumb/error.hpp"
#include "plumb/safe_root.hpp"

namespace plumb::remediation::fsutil {

// Called after every durable step (the fault-injection hook).
void step();

std::string sha256_hex(std::string_view data);
std::string to_hex(std::string_view data);
Result<std::string> from_hex(std::string_view hex);

struct Meta {
    std::uint32_t mode = 0644;  // permission bits (07777)
    uid_t uid = 0;
    gid_t gid = 0;
    std::map<std::string, std::string> xattrs;  // every xattr, security.selinux included
    bool operator==(const Meta&) const = default;
};

// `what` names the file in error messages ("/etc/x").
Result<std::string> read_all(int fd, const std::string& what);
Result<void> write_all(int fd, std::string_view data, const std::string& what);
Result<Meta> read_meta(int fd, const std::string& what);
Result<void> fsync_fd(int fd, const std::string& what);

// A directory entry as it is now: missing, a regular file (content and metadata), or something else (symlink,
// directory, device: never opened).
struct Current {
    enum Kind { missing, regular, other } kind = missing;
    std::string content;
    Meta meta;
};
Result<Current> inspect(int dirfd, const std::string& name, const std::string& what);

// Writes `content` with `meta` to dirfd/name atomically through the temporary name `tmp` (which a crash may leave
// behind: callers remove it on recovery). no_replace: fail with EEXIST if name exists (creation).
Result<void> replace_atomically(int dirfd, const std::string& name, const std::string& tmp, std::string_view content,
                                const Meta& meta, bool no_replace, const std::string& what);

// Removes dirfd/name (ENOENT is success when missing_ok) and fsyncs the directory.
Result<void> remove_entry(int dirfd, const std::string& name, bool missing_ok, const std::string& what);

// Writes a small file of our own (journal data, 0600) durably: created/truncated, written, fsynced.
Result<void> write_file(int dirfd, const std::string& name, std::string_view content, const std::string& what);
Result<std::string> read_file(int dirfd, const std::string& name, const std::string& what);

}  // namespace plumb::remediation::fsutil
