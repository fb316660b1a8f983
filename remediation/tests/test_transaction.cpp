// The transaction layer's behaviour: apply/commit/rollback of the multi-file scenario with metadata, history and
// ids, stale plans, symlinks that would lead out of the root, rollback ordering and conflicts, timings.
#include <sys/xattr.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include <gtest/gtest.h>

#include "plumb/transaction.hpp"
#include "plumb_test.hpp"
#include "txn_scenario.hpp"

namespace {

using namespace plumb;
using namespace plumb::remediation;
using plumb::test::TempRoot;

struct Fixture {
    TempRoot dir;
    SafeRoot root = *SafeRoot::open(dir.path());
    Journal journal = *Journal::open(root);
};

txn_test::Snapshot original_snapshot() {
    TempRoot r;
    txn_test::create_original(r.path());
    return txn_test::snapshot(r.path());
}

txn_test::Snapshot new_snapshot() {
    TempRoot r;
    txn_test::create_expected_new(r.path());
    return txn_test::snapshot(r.path());
}

std::string journal_entries(const TempRoot& dir) {
    std::string out;
    for (const auto& e : std::filesystem::directory_iterator(dir / "var/lib/plumb/transactions"))
        out += e.path().filename().string() + " ";
    return out;
}

TEST(Transaction, ApplyCommitRollbackRestoresEverythingExactly) {
    Fixture f;
    txn_test::create_original(f.dir.path());
    auto id = f.journal.prepare(txn_test::changes(), {{"rules", {"r1"}}});
    ASSERT_TRUE(id) << id.error().message;
    EXPECT_EQ(txn_test::diff(txn_test::snapshot(f.dir.path()), original_snapshot()), "") << "prepare changed the host";
    ASSERT_TRUE(f.journal.apply(*id));
    ASSERT_TRUE(f.journal.commit(*id));
    EXPECT_EQ(txn_test::diff(txn_test::snapshot(f.dir.path()), new_snapshot()), "");

    auto info = f.journal.info(*id);
    ASSERT_TRUE(info);
    EXPECT_EQ(info->state, TxState::committed);
    EXPECT_EQ(info->metadata["rules"][0], "r1");
    ASSERT_EQ(info->files.size(), 7u);
    EXPECT_EQ(info->files[6].path, "/etc/plumb/link.conf");
    EXPECT_EQ(info->files[6].target, "/usr/lib/plumb/real.conf");  // through the in-root symlink
    EXPECT_TRUE(info->files[5].removes);
    EXPECT_FALSE(info->files[3].existed);

    // Someone adds an xattr and changes the mode of a file after the fact: rollback still restores the exact
    // original metadata, removing the xattr the file did not have.
    std::string a = f.dir / "etc/plumb/a.conf";
    ASSERT_EQ(setxattr(a.c_str(), "user.extra", "x", 1, 0), 0);
    ASSERT_EQ(::chmod(a.c_str(), 0666), 0);
    ASSERT_TRUE(f.journal.rollback(*id)) << f.journal.rollback(*id).error().message;
    EXPECT_EQ(txn_test::diff(txn_test::snapshot(f.dir.path()), original_snapshot()), "");
    EXPECT_EQ(f.journal.info(*id)->state, TxState::rolled_back);
    // Idempotent.
    auto again = f.journal.rollback(*id);
    EXPECT_TRUE(again);
    EXPECT_EQ(txn_test::diff(txn_test::snapshot(f.dir.path()), original_snapshot()), "");
}

TEST(Transaction, JournalLayoutAndHistory) {
    Fixture f;
    f.dir.write("/etc/x.conf", "x=1\n");
    auto id1 = f.journal.prepare({{"/etc/x.conf", "x=2\n", 0644, "x=1\n"}}, {});
    ASSERT_TRUE(id1);
    ASSERT_TRUE(f.journal.apply(*id1));
    ASSERT_TRUE(f.journal.commit(*id1));
    auto id2 = f.journal.prepare({{"/etc/y.conf", "y=1\n", 0600, std::nullopt}}, {{"note", "second"}});
    ASSERT_TRUE(id2);

    EXPECT_EQ(id1->size(), 25u);
    EXPECT_EQ((*id1)[8], 'T');
    EXPECT_EQ(id1->substr(15, 2), "Z-");
    EXPECT_NE(*id1, *id2);
    struct stat st {};
    ASSERT_EQ(::stat((f.dir / "var/lib/plumb/transactions").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    ASSERT_EQ(::stat((f.dir / ("var/lib/plumb/transactions/" + *id1)).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);

    auto hist = f.journal.history();
    ASSERT_TRUE(hist);
    ASSERT_EQ(hist->size(), 2u);
    EXPECT_EQ((*hist)[0].id, *id1);
    EXPECT_EQ((*hist)[0].state, TxState::committed);
    EXPECT_EQ((*hist)[1].id, *id2);
    EXPECT_EQ((*hist)[1].state, TxState::prepared);
    EXPECT_LT((*hist)[0].sequence, (*hist)[1].sequence);
    EXPECT_LE((*hist)[0].id.substr(0, 16), (*hist)[1].id.substr(0, 16));
    EXPECT_EQ((*hist)[1].metadata["note"], "second");

    // Not ids: never turned into paths.
    for (std::string bad : {"../../etc", "", "20261123T140501Z-0123abc/"}) {
        auto i = f.journal.info(bad);
        ASSERT_FALSE(i);
        EXPECT_EQ(i.error().code, EINVAL);
    }
    // State machine.
    EXPECT_EQ(f.journal.commit(*id2).error().code, EINVAL);  // not applied
    EXPECT_EQ(f.journal.apply(*id1).error().code, EINVAL);   // already committed

    // An interrupted transaction (prepared, never finished) is rolled back by recover() in the next process.
    auto rec = f.journal.recover();
    ASSERT_TRUE(rec);
    EXPECT_EQ(*rec, std::vector<std::string>{*id2});
    EXPECT_EQ(f.journal.info(*id2)->state, TxState::rolled_back);
    EXPECT_FALSE(std::filesystem::exists(f.dir / "etc/y.conf"));
    EXPECT_EQ(f.dir.read("/etc/x.conf"), "x=2\n");  // the committed one stays
}

TEST(Transaction, StalePlanIsRefusedAndLeavesEverythingIntact) {
    Fixture f;
    f.dir.write("/etc/a.conf", "a=1\n");
    f.dir.write("/etc/b.conf", "b=1\n");
    // At prepare: the plan was computed from other content.
    auto stale = f.journal.prepare({{"/etc/a.conf", "a=2\n", 0644, "a=0\n"}}, {});
    ASSERT_FALSE(stale);
    EXPECT_EQ(stale.error().code, ESTALE);
    EXPECT_NE(stale.error().message.find("/etc/a.conf: changed since the plan"), std::string::npos) << stale.error().message;
    EXPECT_EQ(journal_entries(f.dir), "") << "a failed prepare leaves no journal entry";

    // Between prepare and apply: a.conf is applied first, b.conf was changed by someone else.
    auto id = f.journal.prepare({{"/etc/a.conf", "a=2\n", 0644, "a=1\n"},
                                 {"/etc/b.conf", "b=2\n", 0644, "b=1\n"},
                                 {"/etc/c.conf", "c=2\n", 0644, std::nullopt}},
                                {});
    ASSERT_TRUE(id);
    f.dir.write("/etc/b.conf", "b=someone else\n");
    auto r = f.journal.apply(*id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ESTALE);
    EXPECT_NE(r.error().message.find("/etc/b.conf"), std::string::npos) << r.error().message;
    EXPECT_EQ(f.dir.read("/etc/a.conf"), "a=1\n");
    EXPECT_EQ(f.dir.read("/etc/b.conf"), "b=someone else\n");
    EXPECT_FALSE(std::filesystem::exists(f.dir / "etc/c.conf"));
    EXPECT_EQ(f.journal.info(*id)->state, TxState::rolled_back);

    // A file to be created appeared in the meantime.
    auto id2 = f.journal.prepare({{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/c.conf", "c=2\n", 0644, std::nullopt}}, {});
    ASSERT_TRUE(id2);
    f.dir.write("/etc/c.conf", "c=theirs\n");
    auto r2 = f.journal.apply(*id2);
    ASSERT_FALSE(r2);
    EXPECT_EQ(r2.error().code, ESTALE);
    EXPECT_NE(r2.error().message.find("/etc/c.conf"), std::string::npos);
    EXPECT_EQ(f.dir.read("/etc/a.conf"), "a=1\n");
    EXPECT_EQ(f.dir.read("/etc/c.conf"), "c=theirs\n");
}

TEST(Transaction, SymlinksNeverLeadOutOfTheRoot) {
    Fixture f;
    TempRoot outside;
    outside.write("/victim.conf", "outside=1\n");
    outside.mkdir("/dir");
    outside.write("/dir/victim.conf", "outside=1\n");
    // The file itself is a symlink to a host path outside the root (absolute and ..-relative).
    f.dir.symlink(outside / "victim.conf", "/etc/abs.conf");
    f.dir.symlink("../../../../../../../../" + (outside / "victim.conf"), "/etc/rel.conf");
    // A parent directory is a symlink to outside.
    f.dir.symlink(outside / "dir", "/etc/evil.d");
    f.dir.symlink("../../../../../../../../" + (outside / "dir"), "/etc/evil2.d");
    f.dir.write("/etc/ok.conf", "ok=1\n");

    struct Case {
        std::string path;
        std::optional<std::string> expected;
    };
    for (const Case& c : {Case{"/etc/abs.conf", "outside=1\n"}, Case{"/etc/rel.conf", "outside=1\n"},
                          Case{"/etc/evil.d/victim.conf", "outside=1\n"}, Case{"/etc/evil2.d/victim.conf", "outside=1\n"},
                          Case{"/etc/evil.d/new.conf", std::nullopt}, Case{"/etc/evil.d/sub/new.conf", std::nullopt}}) {
        auto id = f.journal.prepare({{"/etc/ok.conf", "ok=2\n", 0644, "ok=1\n"}, {c.path, "pwned\n", 0644, c.expected}}, {});
        ASSERT_FALSE(id) << c.path;
        EXPECT_EQ(id.error().code, EXDEV) << c.path << ": " << id.error().message;
        EXPECT_NE(id.error().message.find("symbolic link"), std::string::npos) << id.error().message;
        EXPECT_NE(id.error().message.find(c.path.substr(0, 12)), std::string::npos) << id.error().message;
        // Removal through the link is refused the same way.
        if (c.expected) {
            EXPECT_FALSE(f.journal.prepare({{c.path, std::nullopt, 0644, c.expected}}, {}));
        }
    }
    EXPECT_EQ(outside.read("/victim.conf"), "outside=1\n");
    EXPECT_EQ(outside.read("/dir/victim.conf"), "outside=1\n");
    EXPECT_FALSE(std::filesystem::exists(outside / "dir/new.conf"));
    EXPECT_FALSE(std::filesystem::exists(outside / "dir/sub"));
    EXPECT_EQ(f.dir.read("/etc/ok.conf"), "ok=1\n");
    EXPECT_TRUE(std::filesystem::is_symlink(f.dir / "etc/abs.conf"));
    EXPECT_EQ(journal_entries(f.dir), "");

    // A regular file swapped for a symlink to outside between prepare and apply: refused, nothing followed.
    auto id = f.journal.prepare({{"/etc/ok.conf", "ok=2\n", 0644, "ok=1\n"}}, {});
    ASSERT_TRUE(id);
    std::filesystem::remove(f.dir / "etc/ok.conf");
    f.dir.symlink(outside / "victim.conf", "/etc/ok.conf");
    auto r = f.journal.apply(*id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ESTALE);
    EXPECT_EQ(outside.read("/victim.conf"), "outside=1\n");
    EXPECT_TRUE(std::filesystem::is_symlink(f.dir / "etc/ok.conf"));
}

TEST(Transaction, RollbackOfAnOlderTransactionWaitsForTheLaterOne) {
    Fixture f;
    f.dir.write("/etc/a.conf", "a=1\n");
    f.dir.write("/etc/b.conf", "b=1\n");
    auto t1 = f.journal.prepare({{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/b.conf", "b=2\n", 0644, "b=1\n"}}, {});
    ASSERT_TRUE(t1 && f.journal.apply(*t1) && f.journal.commit(*t1));
    auto t2 = f.journal.prepare({{"/etc/a.conf", "a=3\n", 0644, "a=2\n"}}, {});
    ASSERT_TRUE(t2 && f.journal.apply(*t2) && f.journal.commit(*t2));

    auto r = f.journal.rollback(*t1);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, EBUSY);
    EXPECT_NE(r.error().message.find(*t2), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("/etc/a.conf"), std::string::npos);
    EXPECT_EQ(f.dir.read("/etc/a.conf"), "a=3\n");
    EXPECT_EQ(f.dir.read("/etc/b.conf"), "b=2\n");

    ASSERT_TRUE(f.journal.rollback(*t2));
    EXPECT_EQ(f.dir.read("/etc/a.conf"), "a=2\n");
    ASSERT_TRUE(f.journal.rollback(*t1));
    EXPECT_EQ(f.dir.read("/etc/a.conf"), "a=1\n");
    EXPECT_EQ(f.dir.read("/etc/b.conf"), "b=1\n");
}

TEST(Transaction, RollbackRefusesToOverwriteLaterEditsOfACommittedTransaction) {
    Fixture f;
    f.dir.write("/etc/a.conf", "a=1\n");
    f.dir.write("/etc/b.conf", "b=1\n");
    auto id = f.journal.prepare({{"/etc/a.conf", "a=2\n", 0644, "a=1\n"}, {"/etc/b.conf", "b=2\n", 0644, "b=1\n"}}, {});
    ASSERT_TRUE(id && f.journal.apply(*id) && f.journal.commit(*id));
    f.dir.write("/etc/b.conf", "b=edited by the admin\n");
    auto r = f.journal.rollback(*id);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ESTALE);
    EXPECT_NE(r.error().message.find("/etc/b.conf"), std::string::npos) << r.error().message;
    EXPECT_EQ(f.dir.read("/etc/a.conf"), "a=2\n") << "nothing is rolled back when one file conflicts";
    EXPECT_EQ(f.dir.read("/etc/b.conf"), "b=edited by the admin\n");
    EXPECT_EQ(f.journal.info(*id)->state, TxState::committed);
}

TEST(Transaction, InvalidChangeLists) {
    Fixture f;
    f.dir.write("/etc/a.conf", "a=1\n");
    EXPECT_EQ(f.journal.prepare({}, {}).error().code, EINVAL);
    EXPECT_EQ(f.journal.prepare({{"etc/a.conf", "x", 0644, "a=1\n"}}, {}).error().code, EINVAL);
    EXPECT_EQ(f.journal.prepare({{"/etc/a.conf", "x", 0644, "a=1\n"}, {"/etc//a.conf", "y", 0644, "a=1\n"}}, {}).error().code,
              EINVAL);
    EXPECT_EQ(f.journal.prepare({{"/etc/none.conf", std::nullopt, 0644, std::nullopt}}, {}).error().code, EINVAL);
    EXPECT_EQ(f.journal.prepare({{"/etc", "x", 0644, "x"}}, {}).error().code, EINVAL);  // not a regular file
    EXPECT_EQ(journal_entries(f.dir), "");
}

TEST(Transaction, TimingOfTenSmallFiles) {
    Fixture f;
    std::vector<FileChange> changes;
    for (int i = 0; i < 10; ++i) {
        std::string p = "/etc/perf/" + std::to_string(i) + ".conf";
        f.dir.write(p, "value=" + std::to_string(i) + "\n");
        changes.push_back({p, "value=new" + std::to_string(i) + "\n", 0644, "value=" + std::to_string(i) + "\n"});
    }
    using clock = std::chrono::steady_clock;
    auto ms = [](clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); };
    auto t0 = clock::now();
    auto id = f.journal.prepare(changes, {});
    auto t1 = clock::now();
    ASSERT_TRUE(id);
    ASSERT_TRUE(f.journal.apply(*id));
    auto t2 = clock::now();
    ASSERT_TRUE(f.journal.commit(*id));
    auto t3 = clock::now();
    ASSERT_TRUE(f.journal.rollback(*id));
    auto t4 = clock::now();
    for (int i = 0; i < 10; ++i) EXPECT_EQ(f.dir.read("/etc/perf/" + std::to_string(i) + ".conf"), "value=" + std::to_string(i) + "\n");
    std::printf("[timing] 10 files: prepare %.2f ms, apply %.2f ms, commit %.2f ms (total %.2f ms), rollback %.2f ms\n",
                ms(t1 - t0), ms(t2 - t1), ms(t3 - t2), ms(t3 - t0), ms(t4 - t3));
}

}  // namespace
