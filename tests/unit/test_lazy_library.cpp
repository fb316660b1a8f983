// Optional libraries loaded on first use: symbols bind once, and failures name the library or the symbol.
#include <cmath>

#include <gtest/gtest.h>

#include "plumb/lazy_library.hpp"

namespace {

struct MathApi {
    PLUMB_LAZY_FN(cos);
};

TEST(LazyLibrary, BindsOnFirstUse) {
    plumb::sdk::LazyLibrary<MathApi> libm("libm.so.6", [](auto& lib, MathApi& a) { return lib.bind(a.cos, "cos"); });
    auto api = libm.get();
    ASSERT_TRUE(api) << api.error().message;
    EXPECT_DOUBLE_EQ((*api)->cos(0.0), 1.0);
    EXPECT_EQ(*libm.get(), *api);  // the same table every time
}

TEST(LazyLibrary, MissingLibraryOrSymbolIsAnErrorNamingIt) {
    plumb::sdk::LazyLibrary<MathApi> none("libplumb-does-not-exist.so.9", [](auto& lib, MathApi& a) { return lib.bind(a.cos, "cos"); });
    auto r = none.get();
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ELIBACC);
    EXPECT_NE(r.error().message.find("cannot load libplumb-does-not-exist.so.9"), std::string::npos) << r.error().message;

    plumb::sdk::LazyLibrary<MathApi> wrong("libm.so.6", [](auto& lib, MathApi& a) { return lib.bind(a.cos, "no_such_function"); });
    auto w = wrong.get();
    ASSERT_FALSE(w);
    EXPECT_EQ(w.error().message, "libm.so.6 has no symbol no_such_function");
}

}  // namespace
