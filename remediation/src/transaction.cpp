#include "plumb/transaction.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <set>
#include <thread>
#include <tuple>

#include "fsutil.hpp"

namespace plumb::remediation {

namespace {

using fsutil::Meta;

std::function<void(int)>& step_hook() {
    static std::function<void(int)> hook;
    return hook;
}
int& step_count() {
    static int n = 0;
    return n;
}

constexpr const char* kJournalDir = "/var/lib/plumb/transactions";
constexpr const char* kManifest = "manifest.json";
constexpr const char* kManifestTmp = "manifest.json.tmp";

// One file of a transaction as the manifest records it (FileRecord plus what apply/rollback need).
struct Entry {
    FileRecord rec;
    Meta meta;                               // of the original (existed)
    std::uint32_t mode_if_new = 0644;
    std::vector<std::string> created_dirs;   // missing parents of a new file, outermost first
};

struct Manifest {
    TransactionInfo info;
    std::vector<Entry> entries;
};

std::string orig_name(size_t i) { return "orig-" + std::to_string(i); }
std::string new_name(size_t i) { return "new-" + std::to_string(i); }
// The temporary name next to the target: fixed per transaction and file so recovery can remove a leftover.
std::string tmp_name(const std::string& id, size_t i) { return ".plumb-" + id + "-" + std::to_string(i) + ".tmp"; }

bool valid_id(const std::string& id) {
    // 20261123T140501Z-0123abcd
    if (id.size() != 25 || id[8] != 'T' || id[15] != 'Z' || id[16] != '-') return false;
    for (size_t i = 0; i < id.size(); ++i) {
        if (i == 8 || i == 15 || i == 16) continue;
        char c = id[i];
        bool ok = i < 16 ? (c >= '0' && c <= '9') : ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
        if (!ok) return false;
    }
    return true;
}

Result<std::pair<std::string, std::string>> new_id() {
    unsigned char rnd[4];
    if (getrandom(rnd, sizeof rnd, 0) != static_cast<ssize_t>(sizeof rnd)) return fail_errno(errno, "getrandom");
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char stamp[32], rfc[32];
    std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    std::strftime(rfc, sizeof rfc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return std::pair{std::string(stamp) + "-" + fsutil::to_hex(std::string_view(reinterpret_cast<char*>(rnd), 4)),
                     std::string(rfc)};
}

std::optional<TxState> state_from(std::string_view s) {
    for (auto st : {TxState::prepared, TxState::applying, TxState::applied, TxState::committed, TxState::rolling_back,
                    TxState::rolled_back})
        if (to_string(st) == s) return st;
    return std::nullopt;
}

// ---- manifest (de)serialisation ----

nlohmann::json to_json(const Manifest& m) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& e : m.entries) {
        nlohmann::json x = nlohmann::json::object();
        for (const auto& [k, v] : e.meta.xattrs) x[k] = fsutil::to_hex(v);
        files.push_back({{"path", e.rec.path},
                         {"target", e.rec.target},
                         {"existed", e.rec.existed},
                         {"removes", e.rec.removes},
                         {"backup_sha256", e.rec.backup_sha256},
                         {"new_sha256", e.rec.new_sha256},
                         {"mode", e.meta.mode},
                         {"uid", e.meta.uid},
                         {"gid", e.meta.gid},
                         {"xattrs", x},
                         {"mode_if_new", e.mode_if_new},
                         {"created_dirs", e.created_dirs}});
    }
    return {{"format", 1},
            {"id", m.info.id},
            {"created_at", m.info.created_at},
            {"sequence", m.info.sequence},
            {"state", to_string(m.info.state)},
            {"metadata", m.info.metadata},
            {"files", files}};
}

Result<Manifest> from_json(const nlohmann::json& j, const std::string& what) {
    try {
        Manifest m;
        m.info.id = j.at("id").get<std::string>();
        m.info.created_at = j.at("created_at").get<std::string>();
        m.info.sequence = j.at("sequence").get<std::uint64_t>();
        auto st = state_from(j.at("state").get<std::string>());
        if (!st) return fail_invalid(what + ": unknown state " + j.at("state").dump());
        m.info.state = *st;
        m.info.metadata = j.value("metadata", nlohmann::json::object());
        for (const auto& f : j.at("files")) {
            Entry e;
            e.rec.path = f.at("path").get<std::string>();
            e.rec.target = f.at("target").get<std::string>();
            e.rec.existed = f.at("existed").get<bool>();
            e.rec.removes = f.at("removes").get<bool>();
            e.rec.backup_sha256 = f.at("backup_sha256").get<std::string>();
            e.rec.new_sha256 = f.at("new_sha256").get<std::string>();
            e.meta.mode = f.at("mode").get<std::uint32_t>();
            e.meta.uid = f.at("uid").get<uid_t>();
            e.meta.gid = f.at("gid").get<gid_t>();
            for (const auto& [k, v] : f.at("xattrs").items()) {
                auto raw = fsutil::from_hex(v.get<std::string>());
                if (!raw) return fail_invalid(what + ": xattr " + k + ": " + raw.error().message);
                e.meta.xattrs.emplace(k, std::move(*raw));
            }
            e.mode_if_new = f.at("mode_if_new").get<std::uint32_t>();
            e.created_dirs = f.at("created_dirs").get<std::vector<std::string>>();
            m.info.files.push_back(e.rec);
            m.entries.push_back(std::move(e));
        }
        return m;
    } catch (const nlohmann::json::exception& ex) {
        return fail_invalid(what + ": malformed manifest: " + ex.what());
    }
}

// ---- paths inside the root ----

// The path inside the root of an open descriptor (the kernel's view through /proc), or EXDEV when it is not
// below the root.
Result<std::string> in_root_path(const SafeRoot& root, int fd, const std::string& what) {
    char buf[PATH_MAX];
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = readlink(proc.c_str(), buf, sizeof buf - 1);
    if (n < 0) return fail_errno(errno, what + ": resolving its path through /proc");
    std::string host(buf, static_cast<size_t>(n));
    char* real = realpath(root.path().c_str(), nullptr);
    if (!real) return fail_errno(errno, "root " + root.path());
    std::string base = real;
    free(real);
    if (base == "/") return host;
    if (host == base) return std::string("/");
    if (!host.starts_with(base + "/")) return fail(EXDEV, what + ": resolves outside the root");
    return host.substr(base.size());
}

// The file a change goes to: the path itself, or, when it is a symlink, the regular file it resolves to inside
// the root (chroot semantics). A symlink that resolves to nothing existing inside the root is refused.
Result<std::string> resolve_target(const SafeRoot& root, const std::string& path) {
    auto self = root.open_at(path, O_PATH, 0, /*follow_last=*/false);
    if (!self) return self.error().code == ENOENT ? Result<std::string>(path) : std::unexpected(self.error());
    struct stat st {};
    if (fstatat(self->get(), "", &st, AT_EMPTY_PATH) < 0) return fail_errno(errno, path);
    if (!S_ISLNK(st.st_mode)) return path;
    auto link = root.read_link(path);
    std::string shown = link ? *link : "?";
    auto resolved = root.open_at(path, O_PATH, 0, /*follow_last=*/true);
    if (!resolved)
        return fail(EXDEV, path + ": is a symbolic link to " + shown +
                               ", which does not resolve to an existing file inside the root; refusing to follow it (" +
                               std::strerror(resolved.error().code) + ")");
    if (fstatat(resolved->get(), "", &st, AT_EMPTY_PATH) < 0) return fail_errno(errno, path);
    if (!S_ISREG(st.st_mode))
        return fail(EINVAL, path + ": is a symbolic link to " + shown + ", which is not a regular file");
    return in_root_path(root, resolved->get(), path);
}

// Missing ancestor directories of `path`, outermost first. A dangling symlink on the way is refused: creating
// directories through it would follow it somewhere it was never meant to go.
Result<std::vector<std::string>> missing_parents(const SafeRoot& root, const std::string& path) {
    std::vector<std::string> missing;
    for (size_t pos = path.find('/', 1); pos != std::string::npos; pos = path.find('/', pos + 1)) {
        std::string dir = path.substr(0, pos);
        if (!missing.empty()) {
            missing.push_back(dir);
            continue;
        }
        auto fd = root.open_at(dir, O_PATH | O_DIRECTORY);
        if (fd) continue;
        if (fd.error().code != ENOENT) return fail(fd.error().code, path + ": parent " + fd.error().message);
        auto self = root.open_at(dir, O_PATH, 0, /*follow_last=*/false);
        if (self) {
            auto link = root.read_link(dir);
            return fail(EXDEV, path + ": parent " + dir + " is a symbolic link to " + (link ? *link : "?") +
                                   ", which does not exist inside the root; refusing to create directories through it");
        }
        missing.push_back(dir);
    }
    return missing;
}

// ---- journal directory ----

Result<UniqueFd> ensure_journal_dir(const SafeRoot& root) {
    struct Level {
        const char* path;
        unsigned mode;
    };
    for (Level l : {Level{"/var", 0755}, Level{"/var/lib", 0755}, Level{"/var/lib/plumb", 0700},
                    Level{kJournalDir, 0700}}) {
        if (root.open_at(l.path, O_PATH | O_DIRECTORY)) continue;
        auto parent = root.open_parent(l.path);
        if (!parent) return std::unexpected(parent.error());
        if (mkdirat(parent->dir.get(), parent->name.c_str(), l.mode) < 0 && errno != EEXIST)
            return fail_errno(errno, std::string("journal directory ") + l.path);
        fsync(parent->dir.get());
    }
    return root.open_at(kJournalDir, O_RDONLY | O_DIRECTORY);
}

Result<void> lock_journal(int fd, const std::string& root) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) return fail_errno(errno, "locking the transaction journal");
        if (std::chrono::steady_clock::now() > deadline)
            return fail(EBUSY, "another plumb process is changing " + root + " (journal locked for 30 s)");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return {};
}

Result<std::vector<std::string>> list_names(int dirfd) {
    int raw = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (raw < 0) return fail_errno(errno, kJournalDir);
    DIR* d = fdopendir(raw);
    if (!d) {
        close(raw);
        return fail_errno(errno, kJournalDir);
    }
    std::vector<std::string> names;
    while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
    }
    closedir(d);
    std::sort(names.begin(), names.end());
    return names;
}

Result<UniqueFd> open_tx_dir(int journal_fd, const std::string& id) {
    if (!valid_id(id)) return fail(EINVAL, "'" + id + "' is not a transaction id");
    int raw = openat(journal_fd, id.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw < 0) return fail_errno(errno, "transaction " + id);
    return UniqueFd(raw);
}

Result<Manifest> load_manifest(int txfd, const std::string& id) {
    auto text = fsutil::read_file(txfd, kManifest, "transaction " + id + " manifest");
    if (!text) return std::unexpected(text.error());
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return fail_invalid("transaction " + id + ": manifest is not valid JSON");
    return from_json(j, "transaction " + id);
}

// Atomic and durable: temporary, fsync, rename, fsync of the transaction directory.
Result<void> store_manifest(int txfd, const Manifest& m) {
    std::string what = "transaction " + m.info.id + " manifest";
    if (auto w = fsutil::write_file(txfd, kManifestTmp, to_json(m).dump(1), what); !w) return w;
    if (renameat(txfd, kManifestTmp, txfd, kManifest) < 0) return fail_errno(errno, what + ": rename");
    if (auto s = fsutil::fsync_fd(txfd, what); !s) return s;
    fsutil::step();
    return {};
}

Result<void> set_state(int txfd, Manifest& m, TxState s) {
    m.info.state = s;
    return store_manifest(txfd, m);
}

void remove_tx_dir(int journal_fd, const std::string& id) {
    int raw = openat(journal_fd, id.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw >= 0) {
        UniqueFd fd(raw);
        if (auto names = list_names(fd.get()))
            for (const auto& n : *names) unlinkat(fd.get(), n.c_str(), 0);
    }
    unlinkat(journal_fd, id.c_str(), AT_REMOVEDIR);
    fsync(journal_fd);
}

Result<std::string> read_blob(int txfd, const std::string& name, const std::string& sha, const std::string& what) {
    auto data = fsutil::read_file(txfd, name, what);
    if (!data) return data;
    if (fsutil::sha256_hex(*data) != sha) return fail(EIO, what + ": journal copy is corrupt (SHA-256 mismatch)");
    return data;
}

// ---- prepare ----

struct Planned {
    Entry entry;
    std::string original;          // content (existed)
    std::optional<std::string> content;
};

Result<Planned> plan_one(const SafeRoot& root, const FileChange& c) {
    Planned p;
    std::string path = normalize_root_path(c.path);
    auto target = resolve_target(root, path);
    if (!target) return std::unexpected(target.error());
    p.entry.rec.path = path;
    p.entry.rec.target = *target;
    p.entry.mode_if_new = c.mode_if_new & 07777;
    p.content = c.content;
    auto parent = root.open_parent(*target);
    fsutil::Current cur;
    if (parent) {
        auto got = fsutil::inspect(parent->dir.get(), parent->name, *target);
        if (!got) return std::unexpected(got.error());
        cur = std::move(*got);
    } else if (parent.error().code == ENOENT) {
        // Say why the parent is missing when it is a symlink leading nowhere inside the root.
        if (auto missing = missing_parents(root, *target); !missing) return std::unexpected(missing.error());
    } else {
        return fail(parent.error().code, *target + ": parent directory: " + parent.error().message);
    }
    if (cur.kind == fsutil::Current::other) return fail(EINVAL, *target + ": not a regular file; refusing to change it");
    bool exists = cur.kind == fsutil::Current::regular;
    if (exists != c.expected_original.has_value() || (exists && cur.content != *c.expected_original))
        return fail(ESTALE, *target + ": changed since the plan (" +
                                (exists ? (c.expected_original ? "different content" : "now exists") : "no longer exists") +
                                ")");
    p.entry.rec.existed = exists;
    p.entry.rec.removes = !c.content.has_value();
    if (exists) {
        p.entry.meta = cur.meta;
        p.entry.rec.backup_sha256 = fsutil::sha256_hex(cur.content);
        p.original = std::move(cur.content);
    } else {
        if (!c.content) return fail(EINVAL, path + ": removes a file that does not exist");
        auto missing = missing_parents(root, *target);
        if (!missing) return std::unexpected(missing.error());
        p.entry.created_dirs = std::move(*missing);
    }
    if (c.content) p.entry.rec.new_sha256 = fsutil::sha256_hex(*c.content);
    return p;
}

// ---- apply / rollback of one file ----

Result<void> make_dirs(const SafeRoot& root, const std::vector<std::string>& dirs) {
    for (const auto& d : dirs) {
        auto parent = root.open_parent(d);
        if (!parent) return fail(parent.error().code, d + ": creating directory: " + parent.error().message);
        if (mkdirat(parent->dir.get(), parent->name.c_str(), 0755) < 0) {
            if (errno == EEXIST) continue;
            return fail_errno(errno, d + ": creating directory");
        }
        if (auto s = fsutil::fsync_fd(parent->dir.get(), d + ": parent directory"); !s) return s;
        fsutil::step();
    }
    return {};
}

Result<void> apply_one(const SafeRoot& root, int txfd, const std::string& id, size_t i, const Entry& e) {
    const std::string& t = e.rec.target;
    if (!e.rec.existed)
        if (auto d = make_dirs(root, e.created_dirs); !d) return d;
    auto parent = root.open_parent(t);
    if (!parent) return fail(parent.error().code, t + ": parent directory: " + parent.error().message);
    int dirfd = parent->dir.get();
    auto cur = fsutil::inspect(dirfd, parent->name, t);
    if (!cur) return std::unexpected(cur.error());
    bool same = e.rec.existed ? (cur->kind == fsutil::Current::regular &&
                                 fsutil::sha256_hex(cur->content) == e.rec.backup_sha256)
                              : cur->kind == fsutil::Current::missing;
    if (!same) return fail(ESTALE, t + ": changed since the plan; not touching it");
    if (e.rec.removes) return fsutil::remove_entry(dirfd, parent->name, false, t);
    auto content = read_blob(txfd, new_name(i), e.rec.new_sha256, t + ": new content");
    if (!content) return std::unexpected(content.error());
    Meta meta = e.rec.existed ? e.meta : Meta{e.mode_if_new, 0, 0, {}};
    return fsutil::replace_atomically(dirfd, parent->name, tmp_name(id, i), *content, meta, !e.rec.existed, t);
}

enum class Action { none, restore, unlink, conflict };

// What rollback has to do for one file, given what is there now. Only the original or the transaction's own
// result can be there after a crash (every write is an atomic rename); anything else is someone else's change.
Action classify(const Entry& e, const fsutil::Current& cur) {
    using K = fsutil::Current::Kind;
    bool is_new = cur.kind == K::regular && !e.rec.removes && fsutil::sha256_hex(cur.content) == e.rec.new_sha256;
    if (!e.rec.existed) {
        if (cur.kind == K::missing) return Action::none;
        return is_new ? Action::unlink : Action::conflict;
    }
    if (cur.kind == K::missing) return e.rec.removes ? Action::restore : Action::conflict;
    if (cur.kind != K::regular) return Action::conflict;
    if (fsutil::sha256_hex(cur.content) == e.rec.backup_sha256)
        return cur.meta == e.meta ? Action::none : Action::restore;
    return is_new ? Action::restore : Action::conflict;
}

struct Inspected {
    std::optional<SafeRoot::Entry> parent;  // nullopt: the parent directory is gone
    fsutil::Current cur;
};

Result<Inspected> inspect_target(const SafeRoot& root, const std::string& t) {
    auto parent = root.open_parent(t);
    if (!parent) {
        if (parent.error().code == ENOENT) return Inspected{};
        return fail(parent.error().code, t + ": parent directory: " + parent.error().message);
    }
    auto cur = fsutil::inspect(parent->dir.get(), parent->name, t);
    if (!cur) return std::unexpected(cur.error());
    return Inspected{std::move(*parent), std::move(*cur)};
}

Result<void> restore_one(int txfd, const std::string& id, size_t i, const Entry& e, Inspected& in, Action a) {
    const std::string& t = e.rec.target;
    int dirfd = in.parent->dir.get();
    if (a == Action::unlink) return fsutil::remove_entry(dirfd, in.parent->name, true, t);
    auto original = read_blob(txfd, orig_name(i), e.rec.backup_sha256, t + ": backup");
    if (!original) return std::unexpected(original.error());
    return fsutil::replace_atomically(dirfd, in.parent->name, tmp_name(id, i), *original, e.meta, false, t);
}

// Removes a temporary left next to the target by a crash.
void remove_leftover_tmp(const SafeRoot& root, const std::string& id, size_t i, const Entry& e) {
    if (auto parent = root.open_parent(e.rec.target)) {
        std::string tmp = tmp_name(id, i);
        if (unlinkat(parent->dir.get(), tmp.c_str(), 0) == 0) fsync(parent->dir.get());
    }
}

// Directories the transaction created, innermost first; only empty ones go (anything else put there since stays).
void remove_created_dirs(const SafeRoot& root, const std::vector<Entry>& entries) {
    std::set<std::string> dirs;
    for (const auto& e : entries) dirs.insert(e.created_dirs.begin(), e.created_dirs.end());
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) {
        auto parent = root.open_parent(*it);
        if (!parent) continue;
        if (unlinkat(parent->dir.get(), parent->name.c_str(), AT_REMOVEDIR) == 0) {
            fsync(parent->dir.get());
            fsutil::step();
        }
    }
}

// Restores files [0, upto) (the rest only lose leftover temporaries). strict: refuse before changing anything when
// a file holds someone else's content; otherwise such files are left alone.
Result<void> restore_files(const SafeRoot& root, int txfd, Manifest& m, size_t upto, bool strict) {
    std::vector<Inspected> state(m.entries.size());
    std::vector<Action> actions(m.entries.size(), Action::none);
    std::string conflicts;
    for (size_t i = 0; i < upto; ++i) {
        auto in = inspect_target(root, m.entries[i].rec.target);
        if (!in) return std::unexpected(in.error());
        state[i] = std::move(*in);
        actions[i] = state[i].parent ? classify(m.entries[i], state[i].cur)
                                     : (m.entries[i].rec.existed ? Action::conflict : Action::none);
        if (actions[i] == Action::conflict) conflicts += (conflicts.empty() ? "" : ", ") + m.entries[i].rec.target;
    }
    if (strict && !conflicts.empty())
        return fail(ESTALE, "transaction " + m.info.id + ": changed after it was applied: " + conflicts +
                                "; refusing to overwrite (nothing was rolled back)");
    if (m.info.state != TxState::rolling_back)
        if (auto s = set_state(txfd, m, TxState::rolling_back); !s) return s;
    for (size_t i = m.entries.size(); i-- > 0;) {
        remove_leftover_tmp(root, m.info.id, i, m.entries[i]);
        if (actions[i] == Action::none || actions[i] == Action::conflict) continue;
        if (auto r = restore_one(txfd, m.info.id, i, m.entries[i], state[i], actions[i]); !r) return r;
    }
    remove_created_dirs(root, m.entries);
    return set_state(txfd, m, TxState::rolled_back);
}

std::vector<std::string> targets_of(const Manifest& m) {
    std::vector<std::string> t;
    for (const auto& e : m.entries) t.push_back(e.rec.target);
    return t;
}

}  // namespace

std::string_view to_string(TxState s) {
    switch (s) {
        case TxState::prepared: return "prepared";
        case TxState::applying: return "applying";
        case TxState::applied: return "applied";
        case TxState::committed: return "committed";
        case TxState::rolling_back: return "rolling_back";
        case TxState::rolled_back: return "rolled_back";
    }
    return "unknown";
}

void set_step_hook(std::function<void(int step)> hook) {
    step_hook() = std::move(hook);
    step_count() = 0;
}

void fsutil::step() {
    ++step_count();
    if (step_hook()) step_hook()(step_count());
}

Result<Journal> Journal::open(const SafeRoot& root) {
    auto dir = ensure_journal_dir(root);
    if (!dir) return std::unexpected(dir.error());
    if (auto l = lock_journal(dir->get(), root.path()); !l) return std::unexpected(l.error());
    return Journal(root, std::move(*dir));
}

Result<std::string> Journal::prepare(const std::vector<FileChange>& changes, const nlohmann::json& metadata) {
    if (changes.empty()) return fail_invalid("a transaction needs at least one file change");
    std::vector<Planned> planned;
    std::set<std::string> seen;
    for (const auto& c : changes) {
        if (c.path.empty() || c.path.front() != '/') return fail_invalid("'" + c.path + "': not an absolute path");
        auto p = plan_one(*root_, c);
        if (!p) return std::unexpected(p.error());
        if (!seen.insert(p->entry.rec.target).second)
            return fail_invalid(p->entry.rec.target + ": changed twice in one transaction");
        planned.push_back(std::move(*p));
    }
    auto hist = history();
    if (!hist) return std::unexpected(hist.error());
    auto id = new_id();
    if (!id) return std::unexpected(id.error());
    Manifest m;
    m.info = TransactionInfo{id->first, id->second, hist->empty() ? 1 : hist->back().sequence + 1, TxState::prepared,
                             metadata, {}};
    for (auto& p : planned) {
        m.info.files.push_back(p.entry.rec);
        m.entries.push_back(p.entry);
    }
    if (mkdirat(dir_.get(), m.info.id.c_str(), 0700) < 0) return fail_errno(errno, "transaction " + m.info.id);
    auto written = [&]() -> Result<void> {
        if (auto s = fsutil::fsync_fd(dir_.get(), kJournalDir); !s) return s;
        auto tx = open_tx_dir(dir_.get(), m.info.id);
        if (!tx) return std::unexpected(tx.error());
        for (size_t i = 0; i < planned.size(); ++i) {
            const auto& e = planned[i].entry;
            if (e.rec.existed) {
                if (auto w = fsutil::write_file(tx->get(), orig_name(i), planned[i].original, e.rec.target + ": backup"); !w)
                    return w;
                fsutil::step();
            }
            if (planned[i].content) {
                if (auto w = fsutil::write_file(tx->get(), new_name(i), *planned[i].content, e.rec.target + ": new content"); !w)
                    return w;
                fsutil::step();
            }
        }
        if (auto s = fsutil::fsync_fd(tx->get(), "transaction " + m.info.id); !s) return s;
        fsutil::step();
        return store_manifest(tx->get(), m);  // the transaction exists from here on
    }();
    if (!written) {
        remove_tx_dir(dir_.get(), m.info.id);
        return std::unexpected(written.error());
    }
    return m.info.id;
}

Result<void> Journal::apply(const std::string& id) {
    auto tx = open_tx_dir(dir_.get(), id);
    if (!tx) return std::unexpected(tx.error());
    auto m = load_manifest(tx->get(), id);
    if (!m) return std::unexpected(m.error());
    if (m->info.state != TxState::prepared)
        return fail(EINVAL, "transaction " + id + " is " + std::string(to_string(m->info.state)) + ", not prepared");
    if (auto s = set_state(tx->get(), *m, TxState::applying); !s) return s;
    for (size_t i = 0; i < m->entries.size(); ++i) {
        auto r = apply_one(*root_, tx->get(), id, i, m->entries[i]);
        if (r) continue;
        Error err = r.error();
        // Undo files [0, i) and file i too unless it was refused as someone else's (ESTALE): a failure after its
        // rename (directory fsync) leaves our content there. Leftover temporaries go either way.
        size_t upto = err.code == ESTALE ? i : i + 1;
        if (auto rb = restore_files(*root_, tx->get(), *m, upto, false); !rb)
            err.message += "; rolling back the files already changed failed too: " + rb.error().message;
        return std::unexpected(err);
    }
    return set_state(tx->get(), *m, TxState::applied);
}

Result<void> Journal::commit(const std::string& id) {
    auto tx = open_tx_dir(dir_.get(), id);
    if (!tx) return std::unexpected(tx.error());
    auto m = load_manifest(tx->get(), id);
    if (!m) return std::unexpected(m.error());
    if (m->info.state != TxState::applied)
        return fail(EINVAL, "transaction " + id + " is " + std::string(to_string(m->info.state)) + ", not applied");
    return set_state(tx->get(), *m, TxState::committed);
}

Result<void> Journal::rollback(const std::string& id) {
    auto tx = open_tx_dir(dir_.get(), id);
    if (!tx) return std::unexpected(tx.error());
    auto m = load_manifest(tx->get(), id);
    if (!m) return std::unexpected(m.error());
    if (m->info.state == TxState::rolled_back) return {};
    // A later transaction built on this one's result: undoing this one first would silently drop it.
    auto hist = history();
    if (!hist) return std::unexpected(hist.error());
    auto mine = targets_of(*m);
    for (const auto& other : *hist) {
        if (other.sequence <= m->info.sequence || other.state == TxState::rolled_back) continue;
        for (const auto& f : other.files)
            if (std::find(mine.begin(), mine.end(), f.target) != mine.end())
                return fail(EBUSY, "transaction " + id + ": the later transaction " + other.id + " (" +
                                       std::string(to_string(other.state)) + ") also changes " + f.target +
                                       "; roll it back first");
    }
    return restore_files(*root_, tx->get(), *m, m->entries.size(), m->info.state == TxState::committed);
}

Result<std::vector<std::string>> Journal::recover() {
    auto names = list_names(dir_.get());
    if (!names) return std::unexpected(names.error());
    std::vector<TransactionInfo> open;
    for (const auto& n : *names) {
        if (!valid_id(n)) continue;
        auto tx = open_tx_dir(dir_.get(), n);
        if (!tx) continue;
        if (faccessat(tx->get(), kManifest, F_OK, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT) {
            remove_tx_dir(dir_.get(), n);  // prepare died before the manifest: nothing on the host was touched
            continue;
        }
        auto i = info(n);
        if (!i) return std::unexpected(i.error());
        if (i->state != TxState::committed && i->state != TxState::rolled_back) open.push_back(std::move(*i));
    }
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.sequence > b.sequence; });
    std::vector<std::string> ids;
    for (const auto& t : open) {
        if (auto r = rollback(t.id); !r)
            return fail(r.error().code, "recovering transaction " + t.id + ": " + r.error().message);
        ids.push_back(t.id);
    }
    return ids;
}

Result<std::vector<TransactionInfo>> Journal::history() const {
    auto names = list_names(dir_.get());
    if (!names) return std::unexpected(names.error());
    std::vector<TransactionInfo> out;
    for (const auto& n : *names) {
        if (!valid_id(n)) continue;
        auto tx = open_tx_dir(dir_.get(), n);
        if (!tx) continue;
        if (faccessat(tx->get(), kManifest, F_OK, AT_SYMLINK_NOFOLLOW) < 0) continue;  // prepare in progress or died
        auto m = load_manifest(tx->get(), n);
        if (!m) return std::unexpected(m.error());
        out.push_back(std::move(m->info));
    }
    std::sort(out.begin(), out.end(),
              [](const auto& a, const auto& b) { return std::tie(a.sequence, a.id) < std::tie(b.sequence, b.id); });
    return out;
}

Result<TransactionInfo> Journal::info(const std::string& id) const {
    auto tx = open_tx_dir(dir_.get(), id);
    if (!tx) return std::unexpected(tx.error());
    auto m = load_manifest(tx->get(), id);
    if (!m) return std::unexpected(m.error());
    return std::move(m->info);
}

}  // namespace plumb::remediation
