// systemd-style INI files and their drop-in directories, parsed and merged exactly as systemd 252 does
// (src/shared/conf-parser.c config_parse() and config_parse_many_nulstr(), src/basic/conf-files.c):
//  - lines end at \n, \r, NUL or a combination of them (read_line()); a UTF-8 BOM is dropped once;
//  - a line whose first non-blank character is '#' or ';' is a comment and is skipped even in the middle of a
//    continued line (it neither ends nor joins the continuation);
//  - an odd number of trailing backslashes continues the line: the backslash becomes a space and the next line is
//    appended; an empty line ends the continuation;
//  - keys and values are trimmed; "Key=" is an assignment with an empty value (which many settings treat as
//    "reset"); lines without '=' or without a key are skipped with a warning;
//  - an unterminated section header, a section name with quotes/backslashes/control characters, invalid UTF-8 or
//    a line over 1 MiB make systemd stop reading the file and every file after it: that is `fatal` below.
// Main file plus <dir>/<dropin_name>/*.conf from /etc, /run, /usr/local/lib, /usr/lib (systemd 252 as built on
// Debian 12 has no split /usr, so /lib is not searched); a drop-in file name in a higher-priority directory hides
// the same name below; drop-ins are applied in file-name order across all directories, later assignments winning.
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
    unsigned line = 0;    // 1-based line systemd reports for it: for a continued line, the line where it ends
};

// Parses one file. Malformed lines (no '=', no key) are skipped the way systemd skips them and reported in
// `warnings` as "file:line: what". Never fails on content; when systemd would stop reading (see above), `fatal` says
// where and why and nothing after that line is in `assignments`.
struct ParsedIni {
    std::vector<Assignment> assignments;
    std::vector<std::string> warnings;
    std::string fatal;        // "file:line: what" or empty
    unsigned fatal_line = 0;  // line of the fatal error, 0 when none
};
ParsedIni parse_ini(std::string_view text, const std::string& file);

struct MergedIni {
    std::vector<std::string> files;          // files read, in order (main file first when it exists); a drop-in
                                             // that is a symlink to /dev/null is listed (it masks, adds nothing)
    std::vector<Assignment> assignments;     // every assignment of every file, in application order
    std::vector<std::string> warnings;
    std::string fatal;                       // set when a file made systemd stop reading its configuration
    std::vector<std::string> not_applied;    // drop-ins after the fatal one, which systemd never reads
    // The assignment that wins for section/key (the last one), or nullptr when it is never set.
    const Assignment* last(std::string_view section, std::string_view key) const;
    // Every assignment of section/key in application order (for settings where an invalid value is ignored and
    // the previous one stays in effect).
    std::vector<const Assignment*> all(std::string_view section, std::string_view key) const;
};

// The directories searched for drop-ins, highest priority first (systemd's CONF_PATHS on Debian 12).
inline constexpr const char* kConfigSearchDirs[] = {"/etc/", "/run/", "/usr/local/lib/", "/usr/lib/"};

// Loads a systemd configuration file with its drop-ins. `main_file` is the absolute path of the main file inside the
// root (e.g. "/etc/systemd/journald.conf"; systemd 252's daemons read only the one in /etc), `dropin_name` the
// drop-in directory name searched in every configuration directory (e.g. "systemd/journald.conf.d"). Missing files
// and directories (and dangling drop-in symlinks) are not errors; unreadable drop-in directories are skipped with a
// warning, as systemd skips them; any other error reading a file is an error naming the file (systemd would stop
// reading its configuration there).
Result<MergedIni> load_with_dropins(FileSource& files, const std::string& main_file, const std::string& dropin_name);

}  // namespace plumb::config
