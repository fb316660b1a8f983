// systemd-style INI files and their drop-in directories, parsed and merged exactly as systemd does
// (src/shared/conf-parser.c): sections, '#'/';' comments, backslash continuation, whitespace trimming,
// main file plus <name>.d/*.conf from /etc, /run, /usr/local/lib, /usr/lib, a drop-in of the same file name in a
// higher-priority directory masking the lower ones, drop-ins applied in file-name order, later assignments winning.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "plumb/file_source.hpp"

namespace plumb::config {

struct Assignment {
    std::string section;  // without brackets; empty before the first section header
    std::string key;
    std::string value;    // as systemd passes it to the parser callback (trimmed, continuation lines joined)
    std::string file;     // path inside the root
    unsigned line = 0;    // 1-based line of the key
};

// Parses one file. Malformed lines (no '=', unterminated section header) are skipped the way systemd skips
// them and reported in `warnings` as "file:line: what". Never fails on content.
struct ParsedIni {
    std::vector<Assignment> assignments;
    std::vector<std::string> warnings;
};
ParsedIni parse_ini(std::string_view text, const std::string& file);

struct MergedIni {
    std::vector<std::string> files;          // files applied, in order (main file first when it exists)
    std::vector<Assignment> assignments;     // every assignment of every file, in application order
    std::vector<std::string> warnings;
    // The assignment that wins for section/key (the last one), or nullptr when it is never set.
    const Assignment* last(std::string_view section, std::string_view key) const;
};

// Loads a systemd configuration file with its drop-ins. `main_file` is the absolute path of the main file inside the
// root (e.g. "/etc/systemd/journald.conf"), `dropin_name` the drop-in directory name searched in every
// configuration directory (e.g. "systemd/journald.conf.d"). Missing files and directories are not errors; any other
// read error is.
Result<MergedIni> load_with_dropins(FileSource& files, const std::string& main_file, const std::string& dropin_name);

}  // namespace plumb::config
