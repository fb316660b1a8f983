// core.package_installed: dpkg status files and rpm sqlite databases (schema as rpm >= 4.16 creates it).
#include <sqlite3.h>

#include <filesystem>

#include "core_test_util.hpp"

using namespace plumb;
using namespace plumb::test;

namespace {

Outcome pkg(ModuleHarness& h, const std::string& name, const std::string& expect) {
    return h.run("core.package_installed", {{"name", name}, {"expect", expect}});
}

TEST(CorePackageInstalled, Dpkg) {
    TempRoot root;
    root.write("/var/lib/dpkg/status",
               "Package: openssh-server\nStatus: install ok installed\nPriority: optional\nArchitecture: amd64\n"
               "Version: 1:9.2p1-2+deb12u3\nDescription: secure shell (SSH) server\n multi-line\n .\n continued\n\n"
               "Package: telnetd\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 0.17-44\n\n"
               "Package: aide\nStatus: hold ok installed\nArchitecture: amd64\nVersion: 0.18.3-1\n\n"
               "Package: libc6\nStatus: install ok installed\nArchitecture: i386\nVersion: 2.36-9\n");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(pkg(h, "openssh-server", "installed"), Status::pass, "package_installed",
                   "/var/lib/dpkg/status:1", "install ok installed");
    EXPECT_OUTCOME(pkg(h, "openssh-server", "absent"), Status::fail, "package_installed", "expected openssh-server not installed");
    EXPECT_OUTCOME(pkg(h, "telnetd", "absent"), Status::pass, "package_not_installed", "/var/lib/dpkg/status:11",
                   "deinstall ok config-files");
    EXPECT_OUTCOME(pkg(h, "telnetd", "installed"), Status::fail, "package_not_installed");
    EXPECT_OUTCOME(pkg(h, "aide", "installed"), Status::pass, "package_installed", "hold ok installed");
    EXPECT_OUTCOME(pkg(h, "nis", "absent"), Status::pass, "package_not_installed", "nis has no entry in /var/lib/dpkg/status");
    EXPECT_OUTCOME(pkg(h, "libc6:i386", "installed"), Status::pass, "package_installed");
    EXPECT_OUTCOME(pkg(h, "libc6:amd64", "installed"), Status::fail, "package_not_installed");
}

// Builds an rpm database the way rpm's sqlite backend (lib/backend/sqlite.c) lays it out.
void make_rpmdb(const std::string& file, const std::vector<std::string>& names, bool wal = false) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    std::string sql = std::string(wal ? "PRAGMA journal_mode=WAL;" : "") +
                      "CREATE TABLE IF NOT EXISTS 'Packages' (hnum INTEGER PRIMARY KEY AUTOINCREMENT,blob BLOB NOT NULL);"
                      "CREATE TABLE IF NOT EXISTS 'Name' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, "
                      "FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum));"
                      "CREATE INDEX IF NOT EXISTS 'Name_key_idx' ON 'Name'(key ASC);"
                      "CREATE TABLE IF NOT EXISTS 'Providename' (key 'TEXT' NOT NULL, hnum INTEGER NOT NULL, idx INTEGER "
                      "NOT NULL, FOREIGN KEY (hnum) REFERENCES 'Packages'(hnum));";
    for (const auto& n : names)
        sql += "INSERT INTO Packages(blob) VALUES (x'0000000100000000');"
               "INSERT INTO Name(key, hnum, idx) VALUES ('" + n + "', last_insert_rowid(), 0);"
               "INSERT INTO Providename(key, hnum, idx) VALUES ('" + n + "-provide', (SELECT max(hnum) FROM Packages), 0);";
    // An index row whose header is gone must not count.
    sql += "INSERT INTO Name(key, hnum, idx) VALUES ('stale', 9999, 0);";
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(db);
}

TEST(CorePackageInstalled, RpmSqlite) {
    TempRoot root;
    root.mkdir("/var/lib/rpm");
    make_rpmdb(root / "/var/lib/rpm/rpmdb.sqlite", {"openssh-server", "audit", "kernel", "kernel"});
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(pkg(h, "audit", "installed"), Status::pass, "package_installed", "/var/lib/rpm/rpmdb.sqlite");
    EXPECT_OUTCOME(pkg(h, "kernel", "installed"), Status::pass, "package_installed", "2 package header(s)");
    EXPECT_OUTCOME(pkg(h, "telnet-server", "absent"), Status::pass, "package_not_installed", "no package named telnet-server");
    EXPECT_OUTCOME(pkg(h, "openssh-server", "absent"), Status::fail, "package_installed",
                   "expected openssh-server not installed");
    EXPECT_OUTCOME(pkg(h, "audit-provide", "installed"), Status::fail, "package_not_installed");
    EXPECT_OUTCOME(pkg(h, "stale", "installed"), Status::fail, "package_not_installed");
    // Read-only and immutable: nothing was created next to the database.
    for (const char* side : {"-journal", "-wal", "-shm"})
        EXPECT_FALSE(std::filesystem::exists(root / (std::string("/var/lib/rpm/rpmdb.sqlite") + side))) << side;
}

TEST(CorePackageInstalled, RpmSqliteInSysimageThroughSymlinkAndWal) {
    TempRoot root;
    root.mkdir("/usr/lib/sysimage/rpm");
    make_rpmdb(root / "/usr/lib/sysimage/rpm/rpmdb.sqlite", {"aide"}, /*wal=*/true);
    root.mkdir("/var/lib");
    root.symlink("../../usr/lib/sysimage/rpm", "/var/lib/rpm");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(pkg(h, "aide", "installed"), Status::pass, "package_installed");
}

TEST(CorePackageInstalled, NoOrUnsupportedDatabase) {
    TempRoot root;
    root.mkdir("/etc");
    {
        ModuleHarness h(root.path());
        EXPECT_OUTCOME(pkg(h, "aide", "installed"), Status::error, "no_package_database", "/var/lib/dpkg/status",
                       "rpmdb.sqlite");
    }
    root.write("/var/lib/rpm/Packages", "not a database");
    ModuleHarness h(root.path());
    EXPECT_OUTCOME(pkg(h, "aide", "installed"), Status::error, "rpmdb_unsupported", "/var/lib/rpm/Packages");
    root.write("/var/lib/rpm/rpmdb.sqlite", "garbage, not sqlite");
    ModuleHarness h2(root.path());
    EXPECT_OUTCOME(pkg(h2, "aide", "installed"), Status::error, "rpmdb_unreadable", "/var/lib/rpm/rpmdb.sqlite");
}

}  // namespace
