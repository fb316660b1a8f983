// package_installed: dpkg status database or the rpm sqlite database of the root.
#include <unistd.h>

#include <sqlite3.h>

#include "plumb/lazy_library.hpp"

#include "core.hpp"

namespace plumb::core {

const char* const kPackageInstalledSchema = R"J({
  "type": "object",
  "properties": {
    "name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9+._~^-]*(:[A-Za-z0-9_-]+)?$",
             "description": "package name; dpkg also accepts name:arch"},
    "expect": {"enum": ["installed", "absent"]}
  },
  "required": ["name", "expect"],
  "additionalProperties": false
})J";

namespace {

const char* const kDpkgStatus = "/var/lib/dpkg/status";
// rpm >= 4.16 with the sqlite backend; Fedora 36+ keeps it in /usr/lib/sysimage/rpm (/var/lib/rpm links there).
const char* const kRpmDbs[] = {"/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"};
const char* const kRpmLegacy[] = {"/var/lib/rpm/Packages", "/var/lib/rpm/Packages.db", "/usr/lib/sysimage/rpm/Packages",
                                  "/usr/lib/sysimage/rpm/Packages.db"};

// dpkg counts a package as installed when its state (third Status word) is one where its files are unpacked and
// configured: installed, or waiting only for triggers. The first word (install/hold/deinstall) is the selection.
bool dpkg_installed(const std::string& status) {
    auto sp = status.rfind(' ');
    std::string state = sp == std::string::npos ? status : status.substr(sp + 1);
    return state == "installed" || state == "triggers-pending" || state == "triggers-awaited";
}

struct RpmLookup {
    long long count = 0;
};

// sqlite is needed only for RPM databases: loaded on first use, not at every start-up.
struct SqliteApi {
    PLUMB_LAZY_FN(sqlite3_open_v2);
    PLUMB_LAZY_FN(sqlite3_close_v2);
    PLUMB_LAZY_FN(sqlite3_errmsg);
    PLUMB_LAZY_FN(sqlite3_errstr);
    PLUMB_LAZY_FN(sqlite3_prepare_v2);
    PLUMB_LAZY_FN(sqlite3_bind_text);
    PLUMB_LAZY_FN(sqlite3_step);
    PLUMB_LAZY_FN(sqlite3_column_int64);
    PLUMB_LAZY_FN(sqlite3_finalize);
};

sdk::LazyLibrary<SqliteApi> sqlite_library("libsqlite3.so.0", [](auto& lib, SqliteApi& a) {
    return lib.bind(a.sqlite3_open_v2, "sqlite3_open_v2") && lib.bind(a.sqlite3_close_v2, "sqlite3_close_v2") &&
           lib.bind(a.sqlite3_errmsg, "sqlite3_errmsg") && lib.bind(a.sqlite3_errstr, "sqlite3_errstr") &&
           lib.bind(a.sqlite3_prepare_v2, "sqlite3_prepare_v2") && lib.bind(a.sqlite3_bind_text, "sqlite3_bind_text") &&
           lib.bind(a.sqlite3_step, "sqlite3_step") && lib.bind(a.sqlite3_column_int64, "sqlite3_column_int64") &&
           lib.bind(a.sqlite3_finalize, "sqlite3_finalize");
});

Result<RpmLookup> rpm_lookup(sdk::Host& host, const std::string& db_path, const std::string& name) {
    auto sqlite = sqlite_library.get();
    if (!sqlite) return fail(ELIBACC, db_path + ": " + sqlite.error().message);
    const SqliteApi& sq = **sqlite;
    auto fd = host.open_read(db_path);
    if (!fd) return std::unexpected(fd.error());
    // sqlite opens the file by name: hand it our descriptor through /proc/self/fd, read-only and immutable (no
    // locks, no journal or WAL files next to it: nothing is written or created in the audited root).
    const std::string uri = "file:/proc/self/fd/" + std::to_string(*fd) + "?immutable=1";
    sqlite3* db = nullptr;
    int rc = sq.sqlite3_open_v2(uri.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
    auto cleanup = [&] {
        sq.sqlite3_close_v2(db);
        ::close(*fd);
    };
    if (rc != SQLITE_OK) {
        std::string msg = db ? sq.sqlite3_errmsg(db) : sq.sqlite3_errstr(rc);
        cleanup();
        return fail(EIO, db_path + ": cannot open the rpm database: " + msg);
    }
    // rpm's sqlite backend (lib/backend/sqlite.c): Packages(hnum, blob) and one index table per tag,
    // e.g. Name(key TEXT, hnum INTEGER, idx INTEGER) referencing Packages(hnum).
    sqlite3_stmt* stmt = nullptr;
    rc = sq.sqlite3_prepare_v2(db,
                            "SELECT count(DISTINCT Name.hnum) FROM Name JOIN Packages ON Packages.hnum = Name.hnum "
                            "WHERE Name.key = ?1",
                            -1, &stmt, nullptr);
    if (rc == SQLITE_OK) rc = sq.sqlite3_bind_text(stmt, 1, name.data(), static_cast<int>(name.size()), SQLITE_TRANSIENT);
    RpmLookup out;
    if (rc == SQLITE_OK) {
        rc = sq.sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            out.count = sq.sqlite3_column_int64(stmt, 0);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK) {
        std::string msg = sq.sqlite3_errmsg(db);
        sq.sqlite3_finalize(stmt);
        cleanup();
        return fail(EIO, db_path + ": cannot read the rpm Name index: " + msg);
    }
    sq.sqlite3_finalize(stmt);
    cleanup();
    return out;
}

}  // namespace

const Result<Core::DpkgDb>& Core::dpkg_db() {
    if (dpkg_) return *dpkg_;
    auto text = host().read(kDpkgStatus);
    if (!text) {
        dpkg_ = std::unexpected(text.error());
        return *dpkg_;
    }
    DpkgDb db{kDpkgStatus, {}};
    DpkgPackage cur;
    bool in_para = false;
    unsigned lineno = 0;
    auto flush = [&] {
        if (in_para && !cur.name.empty()) db.packages.push_back(cur);
        cur = DpkgPackage{};
        in_para = false;
    };
    for (const auto& line : split_lines(*text)) {
        ++lineno;
        if (trim(line).empty()) {
            flush();
            continue;
        }
        in_para = true;
        if (line[0] == ' ' || line[0] == '\t') continue;  // continuation of a multi-line field
        auto colon = line.find(':');
        if (colon == std::string::npos) continue;
        std::string field = lower(line.substr(0, colon));
        std::string value(trim(std::string_view(line).substr(colon + 1)));
        if (field == "package") {
            cur.name = value;
            cur.line = lineno;
        } else if (field == "status") {
            cur.status = value;
        } else if (field == "architecture") {
            cur.arch = value;
        } else if (field == "version") {
            cur.version = value;
        }
    }
    flush();
    dpkg_ = std::move(db);
    return *dpkg_;
}

plumb_status Core::package_installed(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string name = args.at("name");
    const bool want_installed = args.at("expect") == "installed";

    auto exists = [&](const std::string& p) {
        auto st = host().stat(p, true);
        return st && st->type == FileType::regular;
    };

    if (exists(kDpkgStatus)) {
        const auto& db = dpkg_db();
        if (!db) return r.error("read_failed", db.error().message);
        std::string pkg = name, arch;
        if (auto c = name.find(':'); c != std::string::npos) {
            pkg = name.substr(0, c);
            arch = name.substr(c + 1);
        }
        std::vector<const DpkgPackage*> installed, other;
        for (const auto& p : db->packages) {
            if (p.name != pkg || (!arch.empty() && p.arch != arch)) continue;
            (dpkg_installed(p.status) ? installed : other).push_back(&p);
        }
        auto describe = [&](const DpkgPackage& p) {
            return db->file + ":" + std::to_string(p.line) + ": " + p.name + (p.arch.empty() ? "" : ":" + p.arch) +
                   (p.version.empty() ? "" : " " + p.version) + " Status: " + quote_value(p.status);
        };
        if (!installed.empty()) {
            if (want_installed) return r.pass("package_installed", describe(*installed.front()));
            return r.fail("package_installed", describe(*installed.front()) + "; expected " + name + " not installed");
        }
        std::string why = other.empty() ? name + " has no entry in " + db->file
                                        : describe(*other.front()) + " (not installed)";
        if (want_installed) return r.fail("package_not_installed", why + "; expected " + name + " installed");
        return r.pass("package_not_installed", why);
    }

    for (const char* dbpath : kRpmDbs) {
        if (!exists(dbpath)) continue;
        auto found = rpm_lookup(host(), dbpath, name);
        if (!found) return r.error("rpmdb_unreadable", found.error().message);
        const std::string where = std::string(dbpath) + " (rpm, Name index)";
        if (found->count > 0) {
            std::string what = where + ": " + name + " is installed (" + std::to_string(found->count) + " package header(s))";
            if (want_installed) return r.pass("package_installed", what);
            return r.fail("package_installed", what + "; expected " + name + " not installed");
        }
        if (want_installed)
            return r.fail("package_not_installed", where + ": no package named " + name + "; expected " + name + " installed");
        return r.pass("package_not_installed", where + ": no package named " + name);
    }

    for (const char* legacy : kRpmLegacy)
        if (exists(legacy))
            return r.error("rpmdb_unsupported", std::string(legacy) +
                                                    ": Berkeley DB / ndb rpm databases are not supported; expected the sqlite "
                                                    "database rpmdb.sqlite (rpm 4.16 and later)");
    return r.error("no_package_database",
                   std::string("no package database in the root: expected ") + kDpkgStatus + " (dpkg) or " + kRpmDbs[0] +
                       " / " + kRpmDbs[1] + " (rpm)");
}

}  // namespace plumb::core
