// Errors that carry an errno and a message for people, in the std::expected style used across plumb.
#pragma once

#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

namespace plumb {

struct Error {
    int code = 0;         // positive errno value (EINVAL for malformed input)
    std::string message;  // complete sentence fragment naming the file/line/pointer and what was expected

    static Error from_errno(int err, std::string context) {
        return Error{err, std::move(context) + ": " + std::strerror(err)};
    }
    static Error invalid(std::string message) { return Error{EINVAL, std::move(message)}; }
};

template <class T>
using Result = std::expected<T, Error>;

inline std::unexpected<Error> fail(int err, std::string message) { return std::unexpected(Error{err, std::move(message)}); }
inline std::unexpected<Error> fail_errno(int err, std::string context) {
    return std::unexpected(Error::from_errno(err, std::move(context)));
}
inline std::unexpected<Error> fail_invalid(std::string message) { return std::unexpected(Error::invalid(std::move(message))); }

}  // namespace plumb
