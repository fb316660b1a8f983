// plumb-provision runs at every first boot: the libraries it maps at start are part of its cost. libxml2 (with ICU)
// and libsystemd are loaded only when a step needs them (OVF media or the wireserver fallback, systemd-hostnamed),
// so the binary must not name them in DT_NEEDED.
#include <elf.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "plumb_test.hpp"

namespace {

// The DT_NEEDED entries of a 64-bit ELF file (section headers: .dynamic and the string table it links to).
std::vector<std::string> needed_libraries(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> out;
    if (data.size() < sizeof(Elf64_Ehdr)) return out;
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(data.data());
    if (std::string_view(reinterpret_cast<const char*>(eh->e_ident), 4) != ELFMAG || eh->e_ident[EI_CLASS] != ELFCLASS64) return out;
    if (eh->e_shoff + static_cast<std::size_t>(eh->e_shnum) * sizeof(Elf64_Shdr) > data.size()) return out;
    const auto* sh = reinterpret_cast<const Elf64_Shdr*>(data.data() + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; ++i) {
        if (sh[i].sh_type != SHT_DYNAMIC || sh[i].sh_link >= eh->e_shnum) continue;
        const Elf64_Shdr& strtab = sh[sh[i].sh_link];
        if (sh[i].sh_offset + sh[i].sh_size > data.size() || strtab.sh_offset + strtab.sh_size > data.size()) return out;
        const auto* dyn = reinterpret_cast<const Elf64_Dyn*>(data.data() + sh[i].sh_offset);
        for (std::size_t j = 0; j < sh[i].sh_size / sizeof(Elf64_Dyn) && dyn[j].d_tag != DT_NULL; ++j)
            if (dyn[j].d_tag == DT_NEEDED && dyn[j].d_un.d_val < strtab.sh_size)
                out.emplace_back(data.c_str() + strtab.sh_offset + dyn[j].d_un.d_val);
    }
    return out;
}

}  // namespace

TEST(ProvisionFootprint, LibxmlAndLibsystemdAreLoadedOnlyWhenNeeded) {
    auto needed = needed_libraries(plumb::test::build_dir() + "/bin/plumb-provision");
    ASSERT_FALSE(needed.empty()) << "no DT_NEEDED entries read from bin/plumb-provision";
    bool curl = false;
    for (const auto& lib : needed) {
        EXPECT_EQ(lib.find("libxml2"), std::string::npos) << lib;
        EXPECT_EQ(lib.find("libsystemd"), std::string::npos) << lib;
        curl = curl || lib.starts_with("libcurl");
    }
    EXPECT_TRUE(curl) << "the reader found no libcurl: it does not read DT_NEEDED correctly";
}
