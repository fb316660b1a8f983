// systemd INI parsing and drop-in merging. Line numbers, joins and fatal errors match what systemd 252 reports for
// the same bytes (checked against `systemd-analyze verify` in test_config_ini_systemd.cpp).
#include <gtest/gtest.h>

#include <cerrno>
#include <map>

#include "plumb/config/ini.hpp"

using namespace plumb;
using namespace plumb::config;

namespace {

// An in-memory tree: regular files, directories and symlinks, enough for the parsers' FileSource needs.
class MemFs final : public FileSource {
public:
    void file(const std::string& path, std::string content) {
        parents(path);
        nodes_[path] = Node{FileType::regular, std::move(content)};
    }
    void dir(const std::string& path) {
        parents(path);
        nodes_[path] = Node{FileType::directory, {}};
    }
    void link(const std::string& path, std::string target) {
        parents(path);
        nodes_[path] = Node{FileType::symlink, std::move(target)};
    }

    Result<std::string_view> read(const std::string& path) override {
        auto n = resolve(path, 0);
        if (!n) return std::unexpected(n.error());
        if ((*n)->type == FileType::directory) return fail_errno(EISDIR, path);
        return std::string_view((*n)->data);
    }
    Result<FileStat> stat(const std::string& path, bool follow) override {
        const Node* n = nullptr;
        if (follow) {
            auto r = resolve(path, 0);
            if (!r) return std::unexpected(r.error());
            n = *r;
        } else {
            auto it = nodes_.find(path);
            if (it == nodes_.end()) return fail_errno(ENOENT, path);
            n = &it->second;
        }
        FileStat st;
        st.type = n->type;
        st.mode = n->type == FileType::directory ? 0755 : 0644;
        st.size = n->data.size();
        return st;
    }
    Result<std::vector<std::string>> list_dir(const std::string& path) override {
        auto n = resolve(path, 0);
        if (!n) return std::unexpected(n.error());
        if ((*n)->type != FileType::directory) return fail_errno(ENOTDIR, path);
        std::vector<std::string> out;
        std::string prefix = path + "/";
        for (const auto& [p, node] : nodes_)
            if (p.starts_with(prefix) && p.find('/', prefix.size()) == std::string::npos) out.push_back(p.substr(prefix.size()));
        return out;
    }
    Result<std::string> read_link(const std::string& path) override {
        auto it = nodes_.find(path);
        if (it == nodes_.end()) return fail_errno(ENOENT, path);
        if (it->second.type != FileType::symlink) return fail_errno(EINVAL, path);
        return it->second.data;
    }

private:
    struct Node {
        FileType type;
        std::string data;  // content or link target
    };
    void parents(const std::string& path) {
        for (std::size_t i = path.find('/', 1); i != std::string::npos; i = path.find('/', i + 1))
            nodes_.try_emplace(path.substr(0, i), Node{FileType::directory, {}});
    }
    Result<const Node*> resolve(const std::string& path, int depth) {
        if (depth > 8) return fail_errno(ELOOP, path);
        auto it = nodes_.find(path);
        if (it == nodes_.end()) return fail_errno(ENOENT, path);
        if (it->second.type != FileType::symlink) return &it->second;
        const std::string& t = it->second.data;
        return resolve(normalize(t.starts_with("/") ? t : path.substr(0, path.rfind('/') + 1) + t), depth + 1);
    }
    static std::string normalize(const std::string& p) {
        std::vector<std::string> parts;
        std::size_t i = 0;
        while (i < p.size()) {
            std::size_t j = p.find('/', i);
            if (j == std::string::npos) j = p.size();
            std::string c = p.substr(i, j - i);
            if (c == "..") {
                if (!parts.empty()) parts.pop_back();
            } else if (!c.empty() && c != ".") {
                parts.push_back(c);
            }
            i = j + 1;
        }
        std::string out;
        for (const auto& c : parts) out += "/" + c;
        return out.empty() ? "/" : out;
    }
    std::map<std::string, Node> nodes_;
};

std::string describe(const std::vector<Assignment>& as) {
    std::string out;
    for (const auto& a : as) out += "[" + a.section + "] " + a.key + "=" + a.value + " @" + std::to_string(a.line) + "\n";
    return out;
}

}  // namespace

TEST(ConfigIni, SectionsCommentsAndTrimming) {
    auto p = parse_ini("# comment\n; other comment\n   # indented comment\nTop=1\n[Journal]\n  Storage  =  persistent  \n"
                       "\tCompress=no\t\n\n[Other]\nStorage=none\n",
                       "/f");
    ASSERT_EQ(p.assignments.size(), 4u) << describe(p.assignments);
    EXPECT_EQ(p.assignments[0].section, "");
    EXPECT_EQ(p.assignments[0].key, "Top");
    EXPECT_EQ(p.assignments[1].section, "Journal");
    EXPECT_EQ(p.assignments[1].key, "Storage");
    EXPECT_EQ(p.assignments[1].value, "persistent");
    EXPECT_EQ(p.assignments[1].line, 6u);
    EXPECT_EQ(p.assignments[2].value, "no");
    EXPECT_EQ(p.assignments[3].section, "Other");
    EXPECT_TRUE(p.warnings.empty());
    EXPECT_TRUE(p.fatal.empty());
}

TEST(ConfigIni, ValueKeepsInnerText) {
    auto p = parse_ini("[S]\nA=x # not a comment\nB=a=b\nC=\"quoted\"\nD=\n E = \n", "/f");
    ASSERT_EQ(p.assignments.size(), 5u);
    EXPECT_EQ(p.assignments[0].value, "x # not a comment");
    EXPECT_EQ(p.assignments[1].value, "a=b");
    EXPECT_EQ(p.assignments[2].value, "\"quoted\"");
    EXPECT_EQ(p.assignments[3].key, "D");
    EXPECT_EQ(p.assignments[3].value, "");  // empty value: recorded, systemd passes "" to the setting's parser
    EXPECT_EQ(p.assignments[4].key, "E");
    EXPECT_EQ(p.assignments[4].value, "");
}

TEST(ConfigIni, ContinuationLines) {
    // The backslash becomes a space; the logical line is reported at the line where it ends.
    auto p = parse_ini("[S]\nA=one \\\n  two\\\nthree\nB=x\n", "/f");
    ASSERT_EQ(p.assignments.size(), 2u) << describe(p.assignments);
    EXPECT_EQ(p.assignments[0].value, "one    two three");
    EXPECT_EQ(p.assignments[0].line, 4u);
    EXPECT_EQ(p.assignments[1].line, 5u);
}

TEST(ConfigIni, CommentInsideContinuationIsSkipped) {
    auto p = parse_ini("[S]\nA=a \\\n# comment\n; another\nb\n", "/f");
    ASSERT_EQ(p.assignments.size(), 1u) << describe(p.assignments);
    EXPECT_EQ(p.assignments[0].value, "a  b");
    EXPECT_EQ(p.assignments[0].line, 5u);
}

TEST(ConfigIni, EmptyLineEndsContinuation) {
    auto p = parse_ini("[S]\nA=a\\\n\nB=b\n", "/f");
    ASSERT_EQ(p.assignments.size(), 2u) << describe(p.assignments);
    EXPECT_EQ(p.assignments[0].value, "a");
    EXPECT_EQ(p.assignments[0].line, 3u);
    EXPECT_EQ(p.assignments[1].key, "B");
}

TEST(ConfigIni, ContinuationJoinsKeysAndSectionHeaders) {
    auto p = parse_ini("[Jour\\\nnal]\nFo\\\no=1\n", "/f");
    ASSERT_EQ(p.assignments.size(), 1u) << describe(p.assignments) << p.fatal;
    EXPECT_EQ(p.assignments[0].section, "Jour nal");
    EXPECT_EQ(p.assignments[0].key, "Fo o");
}

TEST(ConfigIni, EvenBackslashesDoNotContinue) {
    auto p = parse_ini("[S]\nA=x\\\\\nB=y\n", "/f");
    ASSERT_EQ(p.assignments.size(), 2u);
    EXPECT_EQ(p.assignments[0].value, "x\\\\");
}

TEST(ConfigIni, ContinuationAtEndOfFile) {
    auto p = parse_ini("[S]\nA=x\\", "/f");
    ASSERT_EQ(p.assignments.size(), 1u);
    EXPECT_EQ(p.assignments[0].value, "x");
    EXPECT_EQ(p.assignments[0].line, 3u);  // systemd counts one line past the end for it
}

TEST(ConfigIni, LineEndings) {
    // \r\n and \n\r are one line end, \r alone is one, NUL ends a line, "\0\n" is two.
    static const char text[] = "[S]\r\nA=1\n\rB=2\r\rC=3\0D=4\0\nE=5";
    auto p = parse_ini(std::string(text, sizeof(text) - 1), "/f");
    ASSERT_EQ(p.assignments.size(), 5u) << describe(p.assignments);
    EXPECT_EQ(p.assignments[0].line, 2u);
    EXPECT_EQ(p.assignments[1].line, 3u);
    EXPECT_EQ(p.assignments[2].line, 5u);
    EXPECT_EQ(p.assignments[3].line, 6u);
    EXPECT_EQ(p.assignments[4].line, 8u);
    EXPECT_EQ(p.assignments[4].value, "5");
}

TEST(ConfigIni, ByteOrderMarkOnce) {
    auto p = parse_ini("\xef\xbb\xbf[S]\nA=1\n\xef\xbb\xbf#B=2\n", "/f");
    ASSERT_EQ(p.assignments.size(), 2u) << describe(p.assignments);
    EXPECT_EQ(p.assignments[0].section, "S");
    EXPECT_EQ(p.assignments[1].key, "\xef\xbb\xbf#B");  // a second BOM is text, so this is no comment
}

TEST(ConfigIni, MalformedLinesAreWarnings) {
    auto p = parse_ini("[S]\nnoequals\n=value\n  = v\nA=1\n", "/etc/x.conf");
    ASSERT_EQ(p.assignments.size(), 1u);
    ASSERT_EQ(p.warnings.size(), 3u);
    EXPECT_EQ(p.warnings[0], "/etc/x.conf:2: missing '=', line ignored");
    EXPECT_EQ(p.warnings[1], "/etc/x.conf:3: missing key name before '=', line ignored");
    EXPECT_TRUE(p.fatal.empty());
}

TEST(ConfigIni, BadSectionHeaderStopsTheFile) {
    auto p = parse_ini("[S]\nA=1\n[Broken\nB=2\n", "/etc/x.conf");
    ASSERT_EQ(p.assignments.size(), 1u);
    EXPECT_EQ(p.fatal_line, 3u);
    EXPECT_NE(p.fatal.find("/etc/x.conf:3: invalid section header '[Broken'"), std::string::npos) << p.fatal;

    p = parse_ini("[S]\nA=1\n[Bad\"Name]\nB=2\n", "/f");
    EXPECT_EQ(p.assignments.size(), 1u);
    EXPECT_EQ(p.fatal_line, 3u);
    EXPECT_NE(p.fatal.find("bad characters"), std::string::npos);

    p = parse_ini("[S]\nA=1\n[\n", "/f");
    EXPECT_EQ(p.fatal_line, 3u);
}

TEST(ConfigIni, InvalidUtf8StopsTheFile) {
    auto p = parse_ini("[S]\nA=1\nB=\xff\nC=3\n", "/f");
    EXPECT_EQ(p.assignments.size(), 1u);
    EXPECT_EQ(p.fatal_line, 3u);
    // Overlong encodings and surrogates are invalid too; a comment with bad bytes is skipped before the check.
    EXPECT_EQ(parse_ini("[S]\nA=\xc0\xaf\n", "/f").fatal_line, 2u);
    EXPECT_EQ(parse_ini("[S]\nA=\xed\xa0\x80\n", "/f").fatal_line, 2u);
    auto c = parse_ini("[S]\n# \xff\nA=\xc3\xa9\n", "/f");
    EXPECT_TRUE(c.fatal.empty());
    ASSERT_EQ(c.assignments.size(), 1u);
}

TEST(ConfigIni, OverlongLineStopsTheFile) {
    std::string text = "[S]\nA=1\nB=" + std::string(1u << 20, 'x') + "\nC=1\n";
    auto p = parse_ini(text, "/f");
    EXPECT_EQ(p.assignments.size(), 1u);
    EXPECT_EQ(p.fatal_line, 3u);
}

TEST(ConfigIni, DuplicateKeysLastWins) {
    MergedIni m;
    auto p = parse_ini("[Journal]\nStorage=volatile\nStorage=persistent\n[Other]\nStorage=none\n", "/f");
    m.assignments = p.assignments;
    ASSERT_NE(m.last("Journal", "Storage"), nullptr);
    EXPECT_EQ(m.last("Journal", "Storage")->value, "persistent");
    EXPECT_EQ(m.last("Journal", "Storage")->line, 3u);
    EXPECT_EQ(m.all("Journal", "Storage").size(), 2u);
    EXPECT_EQ(m.last("Journal", "storage"), nullptr);  // keys are case-sensitive
    EXPECT_EQ(m.last("journal", "Storage"), nullptr);
}

namespace {
const std::string kMain = "/etc/systemd/journald.conf";
const std::string kDropin = "systemd/journald.conf.d";
}  // namespace

TEST(ConfigIniDropins, MainThenDropinsByName) {
    MemFs fs;
    fs.file(kMain, "[Journal]\nStorage=volatile\n");
    fs.file("/usr/lib/systemd/journald.conf.d/20-b.conf", "[Journal]\nStorage=none\n");
    fs.file("/run/systemd/journald.conf.d/10-a.conf", "[Journal]\nStorage=auto\n");
    fs.file("/etc/systemd/journald.conf.d/30-c.conf", "[Journal]\nStorage=persistent\n");
    fs.file("/usr/local/lib/systemd/journald.conf.d/15-x.conf", "[Journal]\nCompress=no\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m) << m.error().message;
    std::vector<std::string> expected = {kMain, "/run/systemd/journald.conf.d/10-a.conf",
                                         "/usr/local/lib/systemd/journald.conf.d/15-x.conf",
                                         "/usr/lib/systemd/journald.conf.d/20-b.conf",
                                         "/etc/systemd/journald.conf.d/30-c.conf"};
    EXPECT_EQ(m->files, expected);
    EXPECT_EQ(m->last("Journal", "Storage")->value, "persistent");
    EXPECT_EQ(m->last("Journal", "Storage")->file, "/etc/systemd/journald.conf.d/30-c.conf");
}

TEST(ConfigIniDropins, HigherDirectoryMasksSameName) {
    MemFs fs;
    fs.file("/usr/lib/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=volatile\n");
    fs.file("/run/systemd/journald.conf.d/50-vendor.conf", "[Journal]\nStorage=persistent\n");
    fs.file("/usr/lib/systemd/journald.conf.d/60-empty.conf", "[Journal]\nCompress=no\n");
    fs.file("/etc/systemd/journald.conf.d/60-empty.conf", "");
    fs.file("/usr/lib/systemd/journald.conf.d/70-null.conf", "[Journal]\nSeal=no\n");
    fs.link("/etc/systemd/journald.conf.d/70-null.conf", "/dev/null");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m) << m.error().message;
    std::vector<std::string> expected = {"/run/systemd/journald.conf.d/50-vendor.conf",
                                         "/etc/systemd/journald.conf.d/60-empty.conf",
                                         "/etc/systemd/journald.conf.d/70-null.conf"};
    EXPECT_EQ(m->files, expected);
    EXPECT_EQ(m->last("Journal", "Storage")->value, "persistent");
    EXPECT_EQ(m->last("Journal", "Compress"), nullptr);
    EXPECT_EQ(m->last("Journal", "Seal"), nullptr);
}

TEST(ConfigIniDropins, OnlyEtcMainFileCounts) {
    // systemd 252's journald reads /etc/systemd/journald.conf only; a vendor copy under /usr/lib is not read.
    MemFs fs;
    fs.file("/usr/lib/systemd/journald.conf", "[Journal]\nStorage=volatile\n");
    fs.file("/run/systemd/journald.conf", "[Journal]\nStorage=none\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m);
    EXPECT_TRUE(m->files.empty());
    EXPECT_EQ(m->last("Journal", "Storage"), nullptr);
}

TEST(ConfigIniDropins, IgnoresHiddenAndOtherSuffixes) {
    MemFs fs;
    fs.file("/etc/systemd/journald.conf.d/.hidden.conf", "[Journal]\nStorage=none\n");
    fs.file("/etc/systemd/journald.conf.d/10-a.conf.bak", "[Journal]\nStorage=none\n");
    fs.file("/etc/systemd/journald.conf.d/10-a.conf~", "[Journal]\nStorage=none\n");
    fs.file("/etc/systemd/journald.conf.d/README", "Storage=none\n");
    fs.file("/etc/systemd/journald.conf.d/10-a.conf", "[Journal]\nStorage=persistent\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->files, std::vector<std::string>{"/etc/systemd/journald.conf.d/10-a.conf"});
}

TEST(ConfigIniDropins, SortIsBytewiseByFileName) {
    MemFs fs;
    fs.file("/usr/lib/systemd/journald.conf.d/a.conf", "[Journal]\nStorage=auto\n");
    fs.file("/etc/systemd/journald.conf.d/Z.conf", "[Journal]\nStorage=none\n");
    fs.file("/run/systemd/journald.conf.d/9.conf", "[Journal]\nStorage=volatile\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m);
    std::vector<std::string> expected = {"/run/systemd/journald.conf.d/9.conf", "/etc/systemd/journald.conf.d/Z.conf",
                                         "/usr/lib/systemd/journald.conf.d/a.conf"};
    EXPECT_EQ(m->files, expected);
    EXPECT_EQ(m->last("Journal", "Storage")->value, "auto");
}

TEST(ConfigIniDropins, FatalErrorStopsLaterFiles) {
    MemFs fs;
    fs.file(kMain, "[Journal]\nStorage=volatile\n");
    fs.file("/etc/systemd/journald.conf.d/10-bad.conf", "[Journal]\nCompress=no\n[Journal\nStorage=none\n");
    fs.file("/etc/systemd/journald.conf.d/20-late.conf", "[Journal]\nStorage=persistent\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->last("Journal", "Storage")->value, "volatile");
    EXPECT_EQ(m->last("Journal", "Compress")->value, "no");
    EXPECT_NE(m->fatal.find("/etc/systemd/journald.conf.d/10-bad.conf:3"), std::string::npos) << m->fatal;
    EXPECT_EQ(m->not_applied, std::vector<std::string>{"/etc/systemd/journald.conf.d/20-late.conf"});
}

TEST(ConfigIniDropins, DirectoryNamedConfIsAReadError) {
    MemFs fs;
    fs.dir("/etc/systemd/journald.conf.d/10-dir.conf");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_FALSE(m);
    EXPECT_EQ(m.error().code, EISDIR);
    EXPECT_NE(m.error().message.find("/etc/systemd/journald.conf.d/10-dir.conf"), std::string::npos);
}

TEST(ConfigIniDropins, DanglingLinkIsSkippedAndDirectoryAsFileIgnored) {
    MemFs fs;
    fs.link("/etc/systemd/journald.conf.d/10-gone.conf", "/nowhere.conf");
    fs.file("/run/systemd/journald.conf.d", "not a directory");
    fs.file("/usr/lib/systemd/journald.conf.d/20-ok.conf", "[Journal]\nStorage=none\n");
    fs.link("/usr/lib/systemd/journald.conf.d/30-rel.conf", "../shared.conf");
    fs.file("/usr/lib/systemd/shared.conf", "[Journal]\nCompress=no\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m) << m.error().message;
    std::vector<std::string> expected = {"/usr/lib/systemd/journald.conf.d/20-ok.conf",
                                         "/usr/lib/systemd/journald.conf.d/30-rel.conf"};
    EXPECT_EQ(m->files, expected);
    EXPECT_EQ(m->last("Journal", "Compress")->file, "/usr/lib/systemd/journald.conf.d/30-rel.conf");
    ASSERT_EQ(m->warnings.size(), 1u);
    EXPECT_NE(m->warnings[0].find("10-gone.conf"), std::string::npos);
}

TEST(ConfigIniDropins, EmptyValueIsTheLastAssignment) {
    MemFs fs;
    fs.file(kMain, "[Journal]\nSystemMaxUse=1G\n");
    fs.file("/etc/systemd/journald.conf.d/reset.conf", "[Journal]\nSystemMaxUse=\n");
    auto m = load_with_dropins(fs, kMain, kDropin);
    ASSERT_TRUE(m);
    ASSERT_NE(m->last("Journal", "SystemMaxUse"), nullptr);
    EXPECT_EQ(m->last("Journal", "SystemMaxUse")->value, "");
    EXPECT_EQ(m->all("Journal", "SystemMaxUse").size(), 2u);
}
