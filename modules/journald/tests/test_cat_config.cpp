// plumb's journald.conf merge against systemd's own: for generated fixture roots, the files
// `systemd-analyze --root=DIR cat-config systemd/journald.conf` prints (its "# /path" headers) must be the files
// load_with_dropins applies, in the same order, and the [Journal] values obtained from its output must be ours.
//
// One known difference is asserted rather than hidden: cat-config shows the first main file found in /etc, /run,
// /usr/local/lib, /usr/lib, while journald 252 itself reads only /etc/systemd/journald.conf.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "plumb/config/ini.hpp"
#include "plumb_test.hpp"

using plumb::config::Assignment;
using plumb::config::MergedIni;
using plumb::test::ModuleHarness;
using plumb::test::TempRoot;

namespace {

const char* const kAnalyze = "/usr/bin/systemd-analyze";
const char* const kKeys[] = {"Storage", "Compress", "SystemMaxUse", "MaxRetentionSec", "ForwardToSyslog", "Seal"};
const char* const kValues[] = {"persistent", "volatile", "yes", "no", "1G", "500M", "1y", "0", "", "auto", "10%"};
const char* const kNames[] = {"10-a.conf", "20-b.conf", "50-x.conf", "99-last.conf", "Z.conf", "a.conf", "60 space.conf"};
const char* const kDirs[] = {"/etc/", "/run/", "/usr/local/lib/", "/usr/lib/"};

bool have_analyze() {
    struct stat st {};
    return ::stat(kAnalyze, &st) == 0;
}

// A random but valid-ish journald.conf fragment exercising the parser's corners.
std::string fragment(std::mt19937& rng) {
    auto pick = [&](auto& arr) { return arr[rng() % std::size(arr)]; };
    std::string eol = rng() % 6 == 0 ? "\r\n" : "\n";
    std::string out;
    if (rng() % 3 == 0) out += "# generated fragment" + eol;
    if (rng() % 4 == 0) out += "Storage=none" + eol;  // before any section: ignored
    out += (rng() % 5 == 0 ? "  [Journal]  " : "[Journal]") + eol;
    int lines = 1 + static_cast<int>(rng() % 5);
    for (int i = 0; i < lines; ++i) {
        std::string key = pick(kKeys), value = pick(kValues);
        switch (rng() % 8) {
            case 0: out += "  " + key + " =  " + value + "  " + eol; break;
            case 1: out += key + "=" + value + " \\" + eol + "; comment inside" + eol + "  x" + eol; break;
            case 2: out += "#" + key + "=" + value + eol; break;
            case 3: out += "[Upload]" + eol + key + "=" + value + eol + "[Journal]" + eol; break;
            case 4: out += key + eol; break;  // missing '='
            default: out += key + "=" + value + eol; break;
        }
    }
    if (rng() % 25 == 0) out += "[Journal" + eol + "Storage=none" + eol;  // makes systemd stop here
    return out;
}

struct Fixture {
    TempRoot root;
    std::mt19937 rng;
    explicit Fixture(unsigned seed) : rng(seed) {
        auto pick = [&](auto& arr) { return arr[rng() % std::size(arr)]; };
        if (rng() % 10 < 7) root.write("/etc/systemd/journald.conf", fragment(rng));
        if (rng() % 4 == 0) root.write("/run/systemd/journald.conf", fragment(rng));
        if (rng() % 3 == 0) root.write("/usr/lib/systemd/journald.conf", fragment(rng));
        int n = static_cast<int>(rng() % 7);
        for (int i = 0; i < n; ++i) {
            std::string path = std::string(pick(kDirs)) + "systemd/journald.conf.d/" + pick(kNames);
            switch (rng() % 10) {
                case 0: root.symlink("/dev/null", path); break;
                case 1: root.write(path, ""); break;
                default: root.write(path, fragment(rng)); break;
            }
        }
        if (rng() % 4 == 0) root.write("/etc/systemd/journald.conf.d/.hidden.conf", "[Journal]\nStorage=none\n");
        if (rng() % 4 == 0) root.write("/usr/lib/systemd/journald.conf.d/notes.txt", "[Journal]\nStorage=none\n");
        if (rng() % 5 == 0) root.write("/usr/lib/systemd/journald.conf.d/00-old.conf.dpkg-old", "[Journal]\nSeal=no\n");
    }
};

struct CatConfig {
    std::vector<std::string> files;   // paths inside the root, in printed order
    std::vector<std::string> texts;   // the printed content of each
};

CatConfig cat_config(const std::string& root) {
    auto r = plumb::test::run_process({kAnalyze, "--no-pager", "--root=" + root, "cat-config", "systemd/journald.conf"}, 30,
                                      {"SYSTEMD_COLORS=0", "SYSTEMD_LOG_LEVEL=err"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    CatConfig out;
    const std::string header = "# " + root + "/";
    std::size_t pos = 0;
    while (pos < r.out.size()) {
        std::size_t nl = r.out.find('\n', pos);
        std::string line = r.out.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
        pos = nl == std::string::npos ? r.out.size() : nl + 1;
        if (line.starts_with(header)) {
            // cat_files() separates files with an empty line printed before the next header
            if (!out.texts.empty() && out.texts.back().ends_with("\n\n")) out.texts.back().pop_back();
            out.files.push_back(line.substr(header.size() - 1));
            out.texts.emplace_back();
        } else if (!out.texts.empty()) {
            out.texts.back() += line + "\n";
        }
    }
    return out;
}

std::map<std::string, std::string> journal_values(const std::vector<Assignment>& as) {
    std::map<std::string, std::string> out;
    for (const auto& a : as)
        if (a.section == "Journal") out[a.key] = a.value;
    return out;
}

}  // namespace

TEST(JournaldCatConfig, MergeMatchesSystemdAnalyzeOnGeneratedRoots) {
    if (!have_analyze()) GTEST_SKIP() << kAnalyze << " is not installed";
    int with_dropins = 0, with_masks = 0, main_elsewhere = 0;
    for (unsigned seed = 1; seed <= 40; ++seed) {
        SCOPED_TRACE("fixture seed " + std::to_string(seed));
        Fixture fx(seed);
        ModuleHarness h(fx.root.path());
        auto merged = plumb::config::load_with_dropins(h.context(), "/etc/systemd/journald.conf", "systemd/journald.conf.d");
        ASSERT_TRUE(merged) << merged.error().message;
        CatConfig cat = cat_config(fx.root.path());

        // cat-config's main file outside /etc is not something journald reads.
        if (!cat.files.empty() && cat.files.front().ends_with("/systemd/journald.conf") &&
            cat.files.front() != "/etc/systemd/journald.conf") {
            ++main_elsewhere;
            EXPECT_TRUE(merged->files.empty() || merged->files.front() != cat.files.front());
            cat.files.erase(cat.files.begin());
            cat.texts.erase(cat.texts.begin());
        }

        std::vector<std::string> ours = merged->files;
        ours.insert(ours.end(), merged->not_applied.begin(), merged->not_applied.end());
        ASSERT_EQ(ours, cat.files);
        if (cat.files.size() > 1) ++with_dropins;

        // Values from cat-config's text, applied file by file with systemd's stop-at-fatal rule.
        std::vector<Assignment> reference;
        for (std::size_t i = 0; i < cat.files.size(); ++i) {
            auto parsed = plumb::config::parse_ini(cat.texts[i], cat.files[i]);
            if (cat.texts[i].empty()) ++with_masks;
            reference.insert(reference.end(), parsed.assignments.begin(), parsed.assignments.end());
            if (!parsed.fatal.empty()) break;
        }
        EXPECT_EQ(journal_values(merged->assignments), journal_values(reference));
        for (const char* key : kKeys) {
            const Assignment* a = merged->last("Journal", key);
            auto ref = journal_values(reference);
            EXPECT_EQ(a != nullptr, ref.count(key) == 1) << key;
        }
    }
    // The generator must actually have produced the interesting cases.
    EXPECT_GE(with_dropins, 10);
    EXPECT_GE(with_masks, 3);
    EXPECT_GE(main_elsewhere, 1);
}

TEST(JournaldCatConfig, DirectoryNamedLikeADropinStopsBoth) {
    if (!have_analyze()) GTEST_SKIP() << kAnalyze << " is not installed";
    TempRoot root;
    root.write("/etc/systemd/journald.conf", "[Journal]\nStorage=persistent\n");
    root.mkdir("/usr/lib/systemd/journald.conf.d/30-dir.conf");
    root.write("/usr/lib/systemd/journald.conf.d/40-after.conf", "[Journal]\nStorage=none\n");
    auto r = plumb::test::run_process({kAnalyze, "--no-pager", "--root=" + root.path(), "cat-config", "systemd/journald.conf"},
                                      30, {"SYSTEMD_COLORS=0"});
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("30-dir.conf"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("40-after.conf"), std::string::npos) << r.out;

    ModuleHarness h(root.path());
    auto merged = plumb::config::load_with_dropins(h.context(), "/etc/systemd/journald.conf", "systemd/journald.conf.d");
    ASSERT_FALSE(merged);
    EXPECT_NE(merged.error().message.find("/usr/lib/systemd/journald.conf.d/30-dir.conf"), std::string::npos)
        << merged.error().message;
}
