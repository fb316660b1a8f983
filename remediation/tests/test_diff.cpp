// unified_diff: fixed cases for the format's corners, then generated before/after pairs compared with GNU diff -u.
#include <algorithm>
#include <optional>
#include <random>

#include <gtest/gtest.h>

#include "plumb/diff.hpp"
#include "plumb_test.hpp"

using namespace plumb::remediation;
using namespace plumb::test;

namespace {

using Text = std::optional<std::string>;

std::string diff(const Text& before, const Text& after, int context = 3) {
    return unified_diff(before ? &*before : nullptr, after ? &*after : nullptr, "/etc/demo.conf", context);
}

// GNU diff -u on the two texts (a missing file is /dev/null), without the two header lines.
std::string gnu_diff(const TempRoot& dir, const Text& before, const Text& after, int context = 3) {
    if (before) dir.write("before", *before);
    if (after) dir.write("after", *after);
    auto r = run_process({"/usr/bin/diff", "-U" + std::to_string(context), before ? dir / "before" : "/dev/null",
                          after ? dir / "after" : "/dev/null"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
    if (r.out.empty()) return r.out;
    std::size_t body = r.out.find('\n', r.out.find('\n') + 1);
    return r.out.substr(body + 1);
}

std::string body_of(const std::string& diff) {
    if (diff.empty()) return diff;
    return diff.substr(diff.find('\n', diff.find('\n') + 1) + 1);
}

TEST(UnifiedDiff, EqualTextsGiveNothing) {
    EXPECT_EQ(diff("a\nb\n", "a\nb\n"), "");
    EXPECT_EQ(diff("", ""), "");
    EXPECT_EQ(diff(std::nullopt, std::nullopt), "");
}

TEST(UnifiedDiff, HeadersAndSimpleChange) {
    EXPECT_EQ(diff("a\nb\nc\n", "a\nB\nc\n"), "--- a/etc/demo.conf\n+++ b/etc/demo.conf\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n");
    EXPECT_EQ(diff("x\n", "y\n"), "--- a/etc/demo.conf\n+++ b/etc/demo.conf\n@@ -1 +1 @@\n-x\n+y\n");
}

TEST(UnifiedDiff, NewAndRemovedFiles) {
    EXPECT_EQ(diff(std::nullopt, "a\nb\n"), "--- /dev/null\n+++ b/etc/demo.conf\n@@ -0,0 +1,2 @@\n+a\n+b\n");
    EXPECT_EQ(diff("a\n", std::nullopt), "--- a/etc/demo.conf\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n");
    // No lines to show: the headers alone still say the file comes or goes.
    EXPECT_EQ(diff(std::nullopt, ""), "--- /dev/null\n+++ b/etc/demo.conf\n");
    EXPECT_EQ(diff("", std::nullopt), "--- a/etc/demo.conf\n+++ /dev/null\n");
    EXPECT_EQ(diff("", "a"), "--- a/etc/demo.conf\n+++ b/etc/demo.conf\n@@ -0,0 +1 @@\n+a\n\\ No newline at end of file\n");
}

TEST(UnifiedDiff, MissingFinalNewline) {
    EXPECT_EQ(body_of(diff("a\nb", "a\nb\n")), "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n");
    EXPECT_EQ(body_of(diff("a\nb", "A\nb")), "@@ -1,2 +1,2 @@\n-a\n+A\n b\n\\ No newline at end of file\n");
}

TEST(UnifiedDiff, HunksMergeWhenTheirContextsTouch) {
    std::string base;
    for (int i = 1; i <= 20; ++i) base += "l" + std::to_string(i) + "\n";
    auto with = [&](std::initializer_list<int> changed) {
        std::string s;
        for (int i = 1; i <= 20; ++i)
            s += (std::find(changed.begin(), changed.end(), i) != changed.end() ? "X" : "l") + std::to_string(i) + "\n";
        return s;
    };
    // 6 unchanged lines between the changes: one hunk; 7: two.
    EXPECT_EQ(body_of(diff(base, with({5, 12}))),
              "@@ -2,14 +2,14 @@\n l2\n l3\n l4\n-l5\n+X5\n l6\n l7\n l8\n l9\n l10\n l11\n-l12\n+X12\n l13\n l14\n l15\n");
    EXPECT_EQ(body_of(diff(base, with({5, 13}))),
              "@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+X5\n l6\n l7\n l8\n"
              "@@ -10,7 +10,7 @@\n l10\n l11\n l12\n-l13\n+X13\n l14\n l15\n l16\n");
    EXPECT_EQ(body_of(diff(base, with({1}), 1)), "@@ -1,2 +1,2 @@\n-l1\n+X1\n l2\n");
    EXPECT_EQ(body_of(diff(base, with({20}), 0)), "@@ -20 +20 @@\n-l20\n+X20\n");
}

TEST(UnifiedDiff, OddPathsStayOnOneLine) {
    std::string a = "x\n", b = "y\n";
    EXPECT_EQ(unified_diff(&a, &b, "/etc/we\"ird\npath").substr(0, 52),
              "--- \"a/etc/we\\\"ird\\npath\"\n+++ \"b/etc/we\\\"ird\\npath\"\n");
}

// ---- generated pairs against GNU diff ----

class Generator {
public:
    explicit Generator(unsigned seed) : rng_(seed) {}

    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

    // Config-file-like lines: mostly distinct settings, with the blank lines, braces and comments that repeat.
    std::string line() {
        static const char* const common[] = {"", "}", "# ---", "fi", "\tallow all;"};
        if (pick(0, 3) == 0) return common[pick(0, 4)];
        return "key" + std::to_string(pick(0, 60)) + " = " + std::to_string(pick(0, 4));
    }

    std::vector<std::string> lines(int n) {
        std::vector<std::string> v;
        for (int i = 0; i < n; ++i) v.push_back(line());
        return v;
    }

    std::vector<std::string> edit(std::vector<std::string> v) {
        const int edits = pick(1, 6);
        for (int e = 0; e < edits; ++e) {
            const int size = static_cast<int>(v.size());
            switch (pick(0, 5)) {
                case 0:  // replace a line
                    if (size) v[static_cast<std::size_t>(pick(0, size - 1))] = line();
                    break;
                case 1: {  // delete a run
                    if (!size) break;
                    int at = pick(0, size - 1), n = std::min(pick(1, 4), size - at);
                    v.erase(v.begin() + at, v.begin() + at + n);
                    break;
                }
                case 2: {  // insert a run anywhere
                    auto ins = lines(pick(1, 4));
                    v.insert(v.begin() + pick(0, size), ins.begin(), ins.end());
                    break;
                }
                case 3: {  // insert at the start or the end
                    auto ins = lines(pick(1, 3));
                    v.insert(pick(0, 1) ? v.end() : v.begin(), ins.begin(), ins.end());
                    break;
                }
                case 4: {  // move a line
                    if (size < 2) break;
                    auto l = v[static_cast<std::size_t>(pick(0, size - 1))];
                    v.erase(std::find(v.begin(), v.end(), l));
                    v.insert(v.begin() + pick(0, size - 1), l);
                    break;
                }
                default:  // duplicate a line next to itself
                    if (size) {
                        int at = pick(0, size - 1);
                        v.insert(v.begin() + at, v[static_cast<std::size_t>(at)]);
                    }
            }
        }
        return v;
    }

    // Joins lines; sometimes without the final newline.
    std::string join(const std::vector<std::string>& v, bool final_newline) {
        std::string s;
        for (std::size_t i = 0; i < v.size(); ++i) s += v[i] + (i + 1 < v.size() || final_newline ? "\n" : "");
        return s;
    }

private:
    std::mt19937 rng_;
};

struct Pair {
    Text before, after;
    int context = 3;
};

std::vector<Pair> generated_pairs() {
    Generator g(20261123);
    std::vector<Pair> out;
    for (int i = 0; i < 240; ++i) {
        auto before = g.lines(g.pick(0, i % 4 == 0 ? 60 : 15));
        auto after = g.edit(before);
        const bool nl0 = g.pick(0, 4) != 0, nl1 = g.pick(0, 4) != 0;
        Pair p{g.join(before, nl0), g.join(after, nl1), g.pick(0, 9) == 0 ? g.pick(0, 5) : 3};
        switch (i % 20) {
            case 0: p.before = std::nullopt; break;           // a new file
            case 1: p.after = std::nullopt; break;            // a removed file
            case 2: p.before = ""; break;                     // from empty
            case 3: p.after = ""; break;                      // to empty
            case 4: *p.after = *p.before + "tail\n"; break;   // append only
            case 5: p.after = "head\n" + *p.before; break;    // prepend only
            default: break;
        }
        out.push_back(std::move(p));
    }
    return out;
}

TEST(UnifiedDiff, MatchesGnuDiffOnGeneratedPairs) {
    TempRoot dir;
    int compared = 0, with_changes = 0;
    for (const auto& p : generated_pairs()) {
        std::string ours = diff(p.before, p.after, p.context);
        std::string gnu = gnu_diff(dir, p.before, p.after, p.context);
        // Creating or removing an empty file: GNU prints nothing, we print the two headers (see NewAndRemovedFiles).
        if ((!p.before && p.after == "") || (!p.after && p.before == "")) continue;
        ++compared;
        with_changes += !gnu.empty();
        EXPECT_EQ(body_of(ours), gnu) << "context " << p.context << "\n--- before:\n"
                                      << p.before.value_or("(missing)") << "\n--- after:\n"
                                      << p.after.value_or("(missing)");
        if (!ours.empty()) {
            const std::string want_header =
                std::string("--- ") + (p.before ? "a/etc/demo.conf" : "/dev/null") + "\n+++ " +
                (p.after ? "b/etc/demo.conf" : "/dev/null") + "\n";
            EXPECT_EQ(ours.substr(0, want_header.size()), want_header);
        }
    }
    EXPECT_GE(compared, 200);
    EXPECT_GE(with_changes, 190);
}

// patch(1) turns before into after with our diff: the ranges and markers are right, not just GNU-shaped.
TEST(UnifiedDiff, PatchAppliesOurDiffs) {
    TempRoot dir;
    int applied = 0;
    for (const auto& p : generated_pairs()) {
        if (!p.before || !p.after) continue;
        std::string ours = diff(p.before, p.after, p.context);
        if (ours.empty()) continue;
        dir.write("file", *p.before);
        dir.write("change.diff", ours);
        auto r = run_process({"/usr/bin/patch", "--quiet", "--force", "--no-backup-if-mismatch", "-F0", "-i",
                              dir / "change.diff", dir / "file"});
        ASSERT_EQ(r.exit_code, 0) << r.out << r.err << ours;
        EXPECT_EQ(dir.read("file"), *p.after) << ours;
        ++applied;
    }
    EXPECT_GE(applied, 150);
}

}  // namespace
