// The three views of one ruleset must agree, or the persistence check would report differences that are not there:
// for every fixture file, loaded into the kernel with the real `nft -f` in a private network namespace,
//   - the kernel's ruleset read over netlink (netlink.cpp) prints exactly as `nft list ruleset` does, and
//   - it compares equal, table by table, with the same file parsed by plumb (text.cpp).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "model.hpp"
#include "netlink.hpp"
#include "live_env.hpp"
#include "plumb_test.hpp"
#include "text.hpp"

namespace nft = plumb::firewall::nft;
namespace fs = std::filesystem;
using plumb::test::run_process;

namespace {

const std::string& g_skip = plumb::firewall::test::live_skip();
const std::string& g_nft = plumb::firewall::test::nft_path();

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<fs::path> fixtures() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(plumb::test::source_dir() + "/modules/firewall/tests/fixtures/nft"))
        if (e.path().extension() == ".nft") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

TEST(NftLayers, KernelFileAndNftListingAgreeOnEveryFixture) {
    if (!g_skip.empty()) GTEST_SKIP() << g_skip;
    size_t checked = 0;
    for (const auto& path : fixtures()) {
        SCOPED_TRACE(path.filename().string());
        ASSERT_EQ(run_process({g_nft, "flush", "ruleset"}).exit_code, 0);
        auto loaded = run_process({g_nft, "-f", path.string()});
        ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
        auto listed = run_process({g_nft, "list", "ruleset"});
        ASSERT_EQ(listed.exit_code, 0) << listed.err;

        auto kernel = nft::read_ruleset();
        ASSERT_TRUE(kernel.has_value()) << kernel.error().message;
        EXPECT_EQ(nft::print_ruleset(*kernel), listed.out);

        auto file = nft::parse_text(slurp(path), path.string());
        ASSERT_TRUE(file.has_value()) << file.error().message;
        ASSERT_EQ(file->ruleset.tables.size(), kernel->tables.size());
        for (const auto& t : kernel->tables) {
            const nft::Table* f = file->ruleset.table(t.family, t.name);
            ASSERT_NE(f, nullptr) << "table " << nft::family_name(t.family) << " " << t.name;
            auto diffs = nft::compare_tables(t, *f, "kernel", "file");
            for (const auto& d : diffs) ADD_FAILURE() << d;
        }
        ++checked;
    }
    EXPECT_GE(checked, 10u);
    run_process({g_nft, "flush", "ruleset"});
}
