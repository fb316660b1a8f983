// Minimal file-system writes for the provisioner, all inside a SafeRoot: atomic file replacement (temporary file in
// the same directory, fsync, rename, fsync of the directory) with owner and mode set before the rename, directory
// creation that refuses symlinks, and removal. The remediation transaction layer will provide the general mechanism
// (journal, rollback); until then this is the only place provisioning/ changes files, and it stays this small.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "plumb/error.hpp"
#include "plumb/safe_root.hpp"

namespace plumb::provision {

struct Ownership {
    uid_t uid = 0;
    gid_t gid = 0;
};

// Replaces `path` (inside the root) with `content`, mode and owner set on the new file before it becomes visible.
// The parent directory must exist. A symlink at `path` is replaced, never followed.
Result<void> write_file_atomic(const SafeRoot& root, const std::string& path, std::string_view content, mode_t mode,
                               Ownership owner = {});

// Makes `path` a directory with this mode and owner, creating it (and, with `parents`, missing root-owned 0755
// parents) when needed. An existing symlink or non-directory at any component is an error, not something to follow.
// Returns true when something was created or changed.
Result<bool> ensure_directory(const SafeRoot& root, const std::string& path, mode_t mode, Ownership owner = {},
                              bool parents = false);

// Removes a file; a missing file is not an error. Returns true when a file was removed.
Result<bool> remove_file(const SafeRoot& root, const std::string& path);

}  // namespace plumb::provision
