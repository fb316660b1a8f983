// Read-only view of the files under the audited root. Parsers take this interface so that the same code reads a
// live host, an offline image, or an in-memory fixture, and never opens a path on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plumb/error.hpp"

namespace plumb {

enum class FileType : std::uint32_t { regular = 1, directory = 2, symlink = 3, other = 4 };

struct FileStat {
    FileType type = FileType::other;
    std::uint32_t mode = 0;  // st_mode & 07777
    std::uint32_t uid = 0;
    std::uint32_t gid = 0;
    std::uint64_t size = 0;
    std::int64_t mtime_sec = 0;
};

class FileSource {
public:
    virtual ~FileSource() = default;
    // Whole contents of a regular file; the view stays valid as long as the source lives.
    virtual Result<std::string_view> read(const std::string& path) = 0;
    virtual Result<FileStat> stat(const std::string& path, bool follow_symlinks = true) = 0;
    // Entry names sorted bytewise, without "." and "..".
    virtual Result<std::vector<std::string>> list_dir(const std::string& path) = 0;
    virtual Result<std::string> read_link(const std::string& path) = 0;
};

}  // namespace plumb
