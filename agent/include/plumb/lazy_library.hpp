// Optional shared libraries loaded on first use (the way systemd loads its optional dependencies), so a module pays
// the start-up cost of a dependency only when a procedure needs it: libsystemd for sd-bus on a live host, sqlite for
// RPM databases. Every audit is a fresh process; linking such libraries would cost milliseconds each time.
//
//     struct SqliteApi {
//         PLUMB_LAZY_FN(sqlite3_open_v2);
//         PLUMB_LAZY_FN(sqlite3_close_v2);
//     };
//     static plumb::sdk::LazyLibrary<SqliteApi> sqlite("libsqlite3.so.0", [](auto& lib, SqliteApi& api) {
//         return lib.bind(api.sqlite3_open_v2, "sqlite3_open_v2") && lib.bind(api.sqlite3_close_v2, "sqlite3_close_v2");
//     });
//     auto api = sqlite.get();   // Result<const SqliteApi*>: the error names the library and the symbol
//     sqlite.require().sqlite3_close_v2(db);   // or throw that error (inside procedures)
#pragma once

#include <dlfcn.h>

#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>

#include "plumb/error.hpp"

#define PLUMB_LAZY_FN(fn) decltype(&::fn) fn = nullptr

namespace plumb::sdk {

template <class Api>
class LazyLibrary {
public:
    class Binder {
    public:
        template <class Fn>
        bool bind(Fn& slot, const char* name) {
            slot = reinterpret_cast<Fn>(dlsym(handle_, name));
            if (!slot && missing_.empty()) missing_ = name;
            return slot != nullptr;
        }

    private:
        friend class LazyLibrary;
        explicit Binder(void* handle) : handle_(handle) {}
        void* handle_;
        std::string missing_;
    };

    LazyLibrary(const char* soname, std::function<bool(Binder&, Api&)> bind_all)
        : soname_(soname), bind_all_(std::move(bind_all)) {}

    // Loads the library and binds every symbol once; later calls return the same answer.
    Result<const Api*> get() {
        std::call_once(once_, [this] {
            void* handle = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
            if (!handle) {
                error_ = std::string("cannot load ") + soname_ + ": " + dlerror();
                return;
            }
            Binder binder(handle);
            if (!bind_all_(binder, api_)) {
                error_ = std::string(soname_) + " has no symbol " + binder.missing_;
                dlclose(handle);
                return;
            }
            loaded_ = true;  // kept loaded for the life of the process
        });
        if (!loaded_) return fail(ELIBACC, error_);
        return &api_;
    }

    // The loaded API for code inside a module procedure: a library that cannot be loaded throws, and the SDK turns
    // the exception into an error result naming the library and the symbol.
    const Api& require() {
        auto api = get();
        if (!api) throw std::runtime_error(api.error().message);
        return **api;
    }

private:
    const char* soname_;
    std::function<bool(Binder&, Api&)> bind_all_;
    std::once_flag once_;
    Api api_{};
    bool loaded_ = false;
    std::string error_;
};

}  // namespace plumb::sdk
