// The transaction layer: the one mechanism through which plumb changes files on a host or image.
//
// A transaction is prepared (journal + backups made durable under <root>/var/lib/plumb/transactions/<id>/ before the
// first change), applied (each file replaced atomically: temporary file in the same directory, fsync, rename, fsync
// of the directory; owner, group, mode, SELinux label and other xattrs preserved), then committed or rolled back.
// If the process dies at any instant, recover() — which every plumb command that changes things runs first — finds
// the unfinished transaction and rolls it back from the backups, so no file is ever left torn, empty or missing.
// Committed transactions stay in the journal for `plumb history` and `plumb rollback ID`, which restores the
// pre-transaction state byte for byte, metadata included.
//
// All paths are resolved inside the root through SafeRoot (openat2 RESOLVE_IN_ROOT): a symlink never leads a change
// out of the root, and a change never replaces a symlink's target outside it.
//
// Symlinks. Directories on the way to a file are followed the way chroot would (clamped to the root). When the file
// itself is a symlink, the change goes to the regular file it resolves to inside the root (FileRecord::target), and
// the symlink stays as it is; a symlink that does not resolve to an existing regular file inside the root (for
// example an absolute link to a host path outside an image) is refused with EXDEV, as is a missing parent directory
// that is a dangling symlink. Missing parent directories of a new file are created (0755 root:root) and removed
// again on rollback.
//
// Concurrency. Journal::open takes an exclusive lock (flock on the journal directory) held until the Journal is
// destroyed, so two plumb processes never interleave transactions on one root; it waits up to 30 s, then fails EBUSY.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "plumb/error.hpp"
#include "plumb/safe_root.hpp"

namespace plumb::remediation {

struct FileChange {
    std::string path;                    // absolute path inside the root
    std::optional<std::string> content;  // new content; nullopt = remove the file
    std::uint32_t mode_if_new = 0644;    // for files that do not exist yet (owner root:root)
    // The content the plan was computed from (nullopt: the file did not exist). prepare() and apply() refuse to touch
    // a file that no longer matches it (ESTALE): someone changed it between plan and apply.
    std::optional<std::string> expected_original;
};

// rolling_back: a rollback started (durably recorded before the first file is restored); recover() finishes it.
enum class TxState { prepared, applying, applied, committed, rolling_back, rolled_back };
std::string_view to_string(TxState s);

struct FileRecord {
    std::string path;              // as requested
    std::string target;            // the file actually changed: path, or what the symlink `path` resolves to
    bool existed = false;          // before the transaction
    bool removes = false;          // the change removes the file
    std::string backup_sha256;     // of the original content (existed)
    std::string new_sha256;        // of the new content (!removes)
};

struct TransactionInfo {
    std::string id;                // sortable by time: 20261123T140501Z-<8 hex>
    std::string created_at;        // RFC 3339 UTC
    std::uint64_t sequence = 0;    // strictly increasing per root: the order of transactions (history is sorted by it)
    TxState state = TxState::prepared;
    nlohmann::json metadata;       // what the caller recorded: rules, plan summary, tool version
    std::vector<FileRecord> files;
};

class Journal {
public:
    // The journal directory is <root>/var/lib/plumb/transactions (created 0700 on first use). The SafeRoot must
    // outlive the Journal. Takes the per-root lock (see above).
    static Result<Journal> open(const SafeRoot& root);

    // Writes the journal entry and a backup of every file to be touched (content, mode, owner, group, all xattrs
    // including security.selinux) and the new contents, fsyncs them, and only then returns the new transaction id.
    // Nothing on the host changes. Fails without side effects (other than a removed partial journal entry) on any
    // error: EINVAL for a malformed change list, ESTALE when a file no longer matches expected_original, EXDEV for a
    // symlink that leads nowhere inside the root.
    Result<std::string> prepare(const std::vector<FileChange>& changes, const nlohmann::json& metadata);

    // Applies a prepared transaction file by file, in order. On the first error, already-applied files are restored,
    // the transaction ends rolled_back, and the error names the file and why (ENOSPC, EROFS, EACCES/EPERM, changed
    // since the plan: ESTALE).
    Result<void> apply(const std::string& id);

    // Marks an applied transaction final (the backups stay for history/rollback).
    Result<void> commit(const std::string& id);

    // Restores every file of the transaction to its state before it (content and metadata, or absence) and removes
    // directories it created. Works on every state; idempotent (rolled_back: nothing to do). Refuses (EBUSY, naming
    // it) while a later transaction that is not rolled back touches one of the same files. For a committed
    // transaction, a file that someone else changed afterwards (neither the transaction's result nor the original)
    // makes it refuse (ESTALE) before anything is changed; for an unfinished one such files are left alone (they
    // were never written by it).
    Result<void> rollback(const std::string& id);

    // Rolls back, newest first, every transaction left in state prepared/applying/applied/rolling_back by a process
    // that died, and removes journal entries whose prepare never completed. Returns the ids rolled back.
    Result<std::vector<std::string>> recover();

    // All transactions, oldest first.
    Result<std::vector<TransactionInfo>> history() const;
    Result<TransactionInfo> info(const std::string& id) const;

private:
    Journal(const SafeRoot& root, UniqueFd dir) : root_(&root), dir_(std::move(dir)) {}
    const SafeRoot* root_;
    UniqueFd dir_;  // the transactions directory, flock()ed for the Journal's lifetime
};

// Test hook for fault injection: called after every durable step of prepare/apply/commit/rollback with a step
// counter (1, 2, ... counted from the last set_step_hook call, per process), so a test harness can SIGKILL the
// process at an exact point. Production code never sets it.
void set_step_hook(std::function<void(int step)> hook);

}  // namespace plumb::remediation
