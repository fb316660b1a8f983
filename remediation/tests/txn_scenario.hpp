// The multi-file transaction the fault-injection harness and tests share: modifications (one large, one 0600
// non-root file with a user xattr, one through an in-root symlink), two creations (one in missing directories) and
// a removal. Snapshots describe a tree exactly (type, content, mode, owner, xattrs, symlink target, directory
// listing) so a state can be compared byte for byte with the original or the expected result.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "plumb/transaction.hpp"

namespace plumb::txn_test {

inline const std::string kSecretXattr = std::string("orig\0label", 10);

inline std::string big(char c, size_t n) {
    std::string s;
    for (size_t i = 0; i < n; ++i) s += static_cast<char>(c + i % 7);
    return s;
}

inline void must(bool ok, const std::string& what) {
    if (!ok) throw std::runtime_error(what + ": " + std::strerror(errno));
}

inline void put(const std::string& root, const std::string& rel, const std::string& content, unsigned mode,
                uid_t uid = 0, gid_t gid = 0) {
    std::string p = root + rel;
    std::filesystem::create_directories(std::filesystem::path(p).parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    must(::chown(p.c_str(), uid, gid) == 0, "chown " + p);
    must(::chmod(p.c_str(), mode) == 0, "chmod " + p);
}

inline void set_xattr(const std::string& path, const std::string& name, const std::string& value) {
    must(lsetxattr(path.c_str(), name.c_str(), value.data(), value.size(), 0) == 0, "setxattr " + path);
}

// The state before the transaction.
inline void create_original(const std::string& root) {
    put(root, "/etc/plumb/a.conf", "alpha=1\n", 0644);
    put(root, "/etc/plumb/big.conf", big('b', 200000), 0644);
    put(root, "/etc/plumb/secret.conf", "token=old\n", 0600, 1234, 2345);
    set_xattr(root + "/etc/plumb/secret.conf", "user.plumb.label", kSecretXattr);
    put(root, "/etc/plumb/obsolete.conf", "obsolete=yes\n", 0640);
    set_xattr(root + "/etc/plumb/obsolete.conf", "user.plumb.gone", "1");
    put(root, "/usr/lib/plumb/real.conf", "real=1\n", 0644);
    must(::symlink("/usr/lib/plumb/real.conf", (root + "/etc/plumb/link.conf").c_str()) == 0, "symlink");
}

inline std::vector<remediation::FileChange> changes() {
    return {
        {"/etc/plumb/a.conf", "alpha=2\n", 0644, "alpha=1\n"},
        {"/etc/plumb/big.conf", big('B', 300000), 0644, big('b', 200000)},
        {"/etc/plumb/secret.conf", "token=new\n", 0644, "token=old\n"},
        {"/etc/plumb/created.conf", "created=1\n", 0640, std::nullopt},
        {"/etc/plumb/new.d/sub/60-plumb.conf", "dropin=1\n", 0644, std::nullopt},
        {"/etc/plumb/obsolete.conf", std::nullopt, 0644, "obsolete=yes\n"},
        {"/etc/plumb/link.conf", "real=2\n", 0644, "real=1\n"},
    };
}

// The state after the transaction, built independently of the transaction layer.
inline void create_expected_new(const std::string& root) {
    put(root, "/etc/plumb/a.conf", "alpha=2\n", 0644);
    put(root, "/etc/plumb/big.conf", big('B', 300000), 0644);
    put(root, "/etc/plumb/secret.conf", "token=new\n", 0600, 1234, 2345);
    set_xattr(root + "/etc/plumb/secret.conf", "user.plumb.label", kSecretXattr);
    put(root, "/etc/plumb/created.conf", "created=1\n", 0640);
    put(root, "/etc/plumb/new.d/sub/60-plumb.conf", "dropin=1\n", 0644);
    must(::chmod((root + "/etc/plumb/new.d").c_str(), 0755) == 0, "chmod");
    must(::chmod((root + "/etc/plumb/new.d/sub").c_str(), 0755) == 0, "chmod");
    put(root, "/usr/lib/plumb/real.conf", "real=2\n", 0644);
    must(::symlink("/usr/lib/plumb/real.conf", (root + "/etc/plumb/link.conf").c_str()) == 0, "symlink");
}

// path -> one line describing it exactly (content as size + a 64-bit FNV-1a digest to keep messages short).
using Snapshot = std::map<std::string, std::string>;

inline std::string digest(const std::string& s) {
    std::uint64_t h = 1469598103934665603ull;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
    std::ostringstream o;
    o << s.size() << "B:" << std::hex << h;
    return o.str();
}

inline std::string xattrs_of(const std::string& p) {
    std::string names(4096, '\0');
    ssize_t n = llistxattr(p.c_str(), names.data(), names.size());
    if (n < 0) return "?";
    names.resize(static_cast<size_t>(n));
    std::map<std::string, std::string> all;
    for (size_t i = 0; i < names.size();) {
        std::string name(names.data() + i);
        i += name.size() + 1;
        std::string v(4096, '\0');
        ssize_t m = lgetxattr(p.c_str(), name.c_str(), v.data(), v.size());
        v.resize(m < 0 ? 0 : static_cast<size_t>(m));
        all[name] = digest(v);
    }
    std::string out;
    for (const auto& [k, v] : all) out += " " + k + "=" + v;
    return out;
}

// Everything under root except the journal (var/lib/plumb).
inline Snapshot snapshot(const std::string& root) {
    Snapshot s;
    namespace fs = std::filesystem;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator(); ++it) {
        std::string rel = it->path().string().substr(root.size());
        if (rel == "/var" || rel.starts_with("/var/")) {
            if (rel == "/var") it.disable_recursion_pending();
            continue;
        }
        struct stat st {};
        must(::lstat(it->path().c_str(), &st) == 0, "lstat " + rel);
        std::ostringstream o;
        o << std::oct << (st.st_mode & 07777) << std::dec << " " << st.st_uid << ":" << st.st_gid;
        if (S_ISLNK(st.st_mode)) {
            o << " symlink->" << fs::read_symlink(it->path()).string();
        } else if (S_ISDIR(st.st_mode)) {
            o << " dir";
        } else if (S_ISREG(st.st_mode)) {
            std::ifstream in(it->path(), std::ios::binary);
            std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            o << " file " << digest(content);
        } else {
            o << " other";
        }
        if (!S_ISLNK(st.st_mode)) o << xattrs_of(it->path().string());
        s[rel] = o.str();
    }
    return s;
}

// The differences, one line each ("" when equal).
inline std::string diff(const Snapshot& got, const Snapshot& want) {
    std::string out;
    for (const auto& [k, v] : want) {
        auto it = got.find(k);
        if (it == got.end()) out += "  missing " + k + " (want " + v + ")\n";
        else if (it->second != v) out += "  " + k + ": got " + it->second + ", want " + v + "\n";
    }
    for (const auto& [k, v] : got)
        if (!want.contains(k)) out += "  unexpected " + k + " (" + v + ")\n";
    return out;
}

}  // namespace plumb::txn_test
