// file_exists, file_absent, file_permissions, file_regex.
#include <regex>

#include "core.hpp"

namespace plumb::core {

const char* const kFileExistsSchema = R"J({
  "type": "object",
  "properties": {
    "path": {"type": "string", "pattern": "^/", "description": "absolute path inside the audited root"},
    "type": {"enum": ["file", "directory", "symlink", "any"],
             "description": "file/directory follow symbolic links; symlink looks at the entry itself; default any"}
  },
  "required": ["path"],
  "additionalProperties": false
})J";

const char* const kFileAbsentSchema = R"J({
  "type": "object",
  "properties": {
    "path": {"type": "string", "pattern": "^/"},
    "type": {"enum": ["file", "directory", "symlink", "any"],
             "description": "fail only when an entry of this type is there; default any (anything, even a dangling link)"}
  },
  "required": ["path"],
  "additionalProperties": false
})J";

const char* const kFilePermissionsSchema = R"J({
  "type": "object",
  "$defs": {
    "mode": {"type": "string", "pattern": "^0?[0-7]{3,4}$"},
    "id": {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "minimum": 0, "maximum": 4294967295}]}
  },
  "properties": {
    "path": {"type": "string", "pattern": "^/"},
    "max_mode": {"$ref": "#/$defs/mode", "description": "no permission bits beyond these (octal)"},
    "mode": {"$ref": "#/$defs/mode", "description": "exactly these permission bits (octal)"},
    "owner": {"$ref": "#/$defs/id", "description": "user name (looked up in the root's /etc/passwd) or uid"},
    "group": {"$ref": "#/$defs/id", "description": "group name (looked up in the root's /etc/group) or gid"},
    "missing": {"enum": ["fail", "pass"], "description": "result when the file does not exist; default fail"}
  },
  "required": ["path"],
  "anyOf": [{"required": ["max_mode"]}, {"required": ["mode"]}, {"required": ["owner"]}, {"required": ["group"]}],
  "additionalProperties": false
})J";

const char* const kFileRegexSchema = R"J({
  "type": "object",
  "properties": {
    "path": {"type": "string", "pattern": "^/"},
    "pattern": {"type": "string", "minLength": 1, "description": "ECMAScript regular expression, searched in each line"},
    "expect": {"enum": ["match", "nomatch"]},
    "min_count": {"type": "integer", "minimum": 1, "description": "expect match: at least this many matches; default 1"},
    "multiline": {"type": "boolean", "description": "search the whole file at once; ^ and $ match at line ends"},
    "case_insensitive": {"type": "boolean"},
    "missing": {"enum": ["empty", "fail", "pass"],
                "description": "a missing file: treated as empty (default), or fails, or passes"}
  },
  "required": ["path", "pattern", "expect"],
  "additionalProperties": false
})J";

namespace {

const char* type_phrase(FileType t) {
    switch (t) {
        case FileType::regular: return "a regular file";
        case FileType::directory: return "a directory";
        case FileType::symlink: return "a symbolic link";
        default: return "a special file";
    }
}

const char* wanted_phrase(const std::string& type) {
    if (type == "file") return "a regular file";
    if (type == "directory") return "a directory";
    if (type == "symlink") return "a symbolic link";
    return "any file";
}

// What is at `path` with the requested view: the entry itself for symlink/any, the link target for file/directory.
struct Probe {
    bool exists = false;        // something of any type is at path (lstat)
    FileStat entry{};           // lstat
    std::optional<FileStat> target;  // stat, when the entry exists and the link (if any) resolves
    std::string link;           // link text when the entry is a symlink
};

Result<Probe> probe(sdk::Host& host, const std::string& path) {
    Probe p;
    auto l = host.stat(path, false);
    if (!l) {
        if (is_missing(l.error())) return p;
        return std::unexpected(l.error());
    }
    p.exists = true;
    p.entry = *l;
    if (l->type != FileType::symlink) {
        p.target = *l;
        return p;
    }
    if (auto t = host.read_link(path)) p.link = *t;
    auto f = host.stat(path, true);
    if (f) {
        p.target = *f;
    } else if (!is_missing(f.error()) && f.error().code != ELOOP) {
        return std::unexpected(f.error());
    }
    return p;
}

std::optional<std::uint32_t> parse_mode(const std::string& s) {
    std::uint32_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '7') return std::nullopt;
        v = v * 8 + static_cast<std::uint32_t>(c - '0');
    }
    if (v > 07777) return std::nullopt;
    return v;
}

bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return true;
}

}  // namespace

const Result<AccountTable>& Core::accounts(bool groups) {
    auto& slot = groups ? group_ : passwd_;
    if (slot) return *slot;
    const char* file = groups ? "/etc/group" : "/etc/passwd";
    auto text = host().read(file);
    if (!text) {
        slot = std::unexpected(text.error());
        return *slot;
    }
    slot = config::parse_account_db(*text, file);
    return *slot;
}

plumb_status Core::file_exists(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string path = args.at("path");
    const std::string type = args.value("type", "any");
    auto p = probe(host(), path);
    if (!p) return r.error("stat_failed", p.error().message);
    if (!p->exists)
        return r.fail("file_missing", path + ": does not exist; expected " + wanted_phrase(type));
    if (type == "any")
        return r.pass("file_present", path + ": exists (" + type_phrase(p->entry.type) + ")");
    if (type == "symlink") {
        if (p->entry.type == FileType::symlink)
            return r.pass("file_present", path + ": is a symbolic link to " + quote_value(p->link));
        return r.fail("file_wrong_type", path + ": is " + type_phrase(p->entry.type) + "; expected a symbolic link");
    }
    const std::string via = p->entry.type == FileType::symlink ? " (symbolic link to " + quote_value(p->link) + ")" : "";
    if (!p->target)
        return r.fail("symlink_dangling",
                      path + via + ": the link target does not exist; expected " + wanted_phrase(type));
    FileType want = type == "file" ? FileType::regular : FileType::directory;
    if (p->target->type != want)
        return r.fail("file_wrong_type",
                      path + via + ": is " + type_phrase(p->target->type) + "; expected " + wanted_phrase(type));
    return r.pass("file_present", path + via + ": is " + wanted_phrase(type));
}

plumb_status Core::file_absent(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string path = args.at("path");
    const std::string type = args.value("type", "any");
    auto p = probe(host(), path);
    if (!p) return r.error("stat_failed", p.error().message);
    if (!p->exists) return r.pass("file_absent", path + ": does not exist, as expected");
    const std::string via = p->entry.type == FileType::symlink ? " (symbolic link to " + quote_value(p->link) + ")" : "";
    if (type == "any")
        return r.fail("file_present", path + via + ": exists as " + type_phrase(p->entry.type) + "; expected no file");
    if (type == "symlink") {
        if (p->entry.type == FileType::symlink)
            return r.fail("file_present", path + via + ": exists; expected no symbolic link");
        return r.pass("file_absent", path + ": is " + type_phrase(p->entry.type) + ", not a symbolic link");
    }
    FileType want = type == "file" ? FileType::regular : FileType::directory;
    if (p->target && p->target->type == want)
        return r.fail("file_present", path + via + ": is " + wanted_phrase(type) + "; expected none");
    return r.pass("file_absent", path + via + ": is not " + wanted_phrase(type) +
                                     (p->target ? std::string(" (") + type_phrase(p->target->type) + ")"
                                                : std::string(" (dangling link)")));
}

plumb_status Core::file_permissions(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string path = args.at("path");
    // Permissions of a symbolic link are meaningless on Linux: check what it points to.
    auto st = host().stat(path, true);
    if (!st) {
        if (is_missing(st.error())) {
            if (args.value("missing", "fail") == "pass")
                return r.pass("file_missing", path + ": does not exist (allowed by missing=pass)");
            return r.fail("file_missing", path + ": does not exist; expected a file whose permissions can be checked");
        }
        return r.error("stat_failed", st.error().message);
    }
    bool failed = false;
    std::vector<std::string> ok;
    const std::uint32_t mode = st->mode & 07777;

    if (args.contains("max_mode")) {
        auto max = parse_mode(args["max_mode"]);
        if (!max) return r.error("invalid_argument", "max_mode " + quote_value(args["max_mode"].get<std::string>()) +
                                                         " is not an octal mode of at most 07777");
        if (auto extra = mode & ~*max) {
            failed = true;
            r.reason("mode_too_permissive", path + ": mode " + octal(mode) + " has bits " + octal(extra) +
                                                " beyond the allowed " + octal(*max));
        } else {
            ok.push_back("mode " + octal(mode) + " within " + octal(*max));
        }
    }
    if (args.contains("mode")) {
        auto want = parse_mode(args["mode"]);
        if (!want) return r.error("invalid_argument", "mode " + quote_value(args["mode"].get<std::string>()) +
                                                          " is not an octal mode of at most 07777");
        if (mode != *want) {
            failed = true;
            r.reason("mode_mismatch", path + ": mode is " + octal(mode) + "; expected exactly " + octal(*want));
        } else {
            ok.push_back("mode " + octal(mode));
        }
    }
    for (bool groups : {false, true}) {
        const char* field = groups ? "group" : "owner";
        if (!args.contains(field)) continue;
        const auto& want = args[field];
        const char* idname = groups ? "gid" : "uid";
        const std::uint32_t actual = groups ? st->gid : st->uid;
        std::uint32_t want_id = 0;
        std::string want_text;
        const Result<AccountTable>& table = accounts(groups);
        if (want.is_number_integer() || all_digits(want.get_ref<const std::string&>())) {
            unsigned long long v = want.is_number_integer() ? want.get<unsigned long long>()
                                                            : std::stoull(want.get<std::string>());
            if (v > 0xffffffffULL)
                return r.error("invalid_argument", std::string(field) + " " + std::to_string(v) + " is out of range");
            want_id = static_cast<std::uint32_t>(v);
            want_text = std::string(idname) + " " + std::to_string(want_id);
        } else {
            const std::string& name = want.get_ref<const std::string&>();
            if (!table) {
                return r.error(groups ? "unknown_group" : "unknown_user",
                               std::string("cannot resolve ") + field + " " + quote_value(name) + ": " + table.error().message);
            }
            const Account* a = table->by_name(name);
            if (!a) {
                return r.error(groups ? "unknown_group" : "unknown_user",
                               std::string(field) + " " + quote_value(name) + " is not defined in " + table->file +
                                   " of the audited root");
            }
            want_id = a->id;
            want_text = name + " (" + idname + " " + std::to_string(a->id) + ", " + table->file + ":" +
                        std::to_string(a->line) + ")";
        }
        std::string actual_text = std::string(idname) + " " + std::to_string(actual);
        if (table) {
            if (const Account* a = table->by_id(actual)) actual_text = a->name + " (" + actual_text + ")";
        }
        if (actual != want_id) {
            failed = true;
            r.reason(groups ? "group_mismatch" : "owner_mismatch",
                     path + ": " + field + " is " + actual_text + "; expected " + want_text);
        } else {
            ok.push_back(std::string(field) + " " + actual_text);
        }
    }
    if (failed) return PLUMB_STATUS_FAIL;
    return r.pass("permissions_ok", path + ": " + join(ok, ", "));
}

plumb_status Core::file_regex(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string path = args.at("path");
    const std::string pattern = args.at("pattern");
    const bool want_match = args.at("expect") == "match";
    const long long min_count = args.value("min_count", 1LL);
    const bool multiline = args.value("multiline", false);
    const std::string missing = args.value("missing", "empty");

    auto flags = std::regex::ECMAScript;
    if (args.value("case_insensitive", false)) flags |= std::regex::icase;
    if (multiline) flags |= std::regex::multiline;
    std::regex re;
    try {
        re = std::regex(pattern, flags);
    } catch (const std::regex_error& e) {
        return r.error("invalid_pattern", "pattern " + quote_value(pattern) + " is not a valid ECMAScript regex: " + e.what());
    }

    auto text = read_if_exists(host(), path);
    if (!text) return r.error("read_failed", text.error().message);
    if (!*text) {
        if (missing == "fail") return r.fail("file_missing", path + ": does not exist; expected a file to search for " + quote_value(pattern));
        if (missing == "pass") return r.pass("file_missing", path + ": does not exist (allowed by missing=pass)");
    }
    std::string_view content = text->value_or(std::string_view{});
    const std::string where = *text ? path : path + " (missing, treated as empty)";

    struct Hit {
        unsigned line;
        std::string text;
    };
    std::vector<Hit> hits;
    try {
        if (multiline) {
            std::string s(content);
            for (auto it = std::sregex_iterator(s.begin(), s.end(), re); it != std::sregex_iterator(); ++it) {
                auto pos = static_cast<std::size_t>(it->position(0));
                unsigned line = 1 + static_cast<unsigned>(std::count(s.begin(), s.begin() + static_cast<long>(pos), '\n'));
                hits.push_back({line, it->str(0)});
                if (it->length(0) == 0 && pos >= s.size()) break;
            }
        } else {
            unsigned lineno = 0;
            for (const auto& line : split_lines(content)) {
                ++lineno;
                if (std::regex_search(line, re)) hits.push_back({lineno, line});
            }
        }
    } catch (const std::regex_error& e) {
        return r.error("regex_failed", "searching " + path + " for " + quote_value(pattern) + " failed: " + e.what());
    }

    auto list_hits = [&](std::size_t max) {
        std::string out;
        for (std::size_t i = 0; i < hits.size() && i < max; ++i)
            out += (i ? "; " : "") + path + ":" + std::to_string(hits[i].line) + ": " + quote_value(truncate_for_message(hits[i].text));
        if (hits.size() > max) out += "; and " + std::to_string(hits.size() - max) + " more";
        return out;
    };
    auto count = [&](std::size_t n) {
        return std::to_string(n) + " " + (multiline ? (n == 1 ? "match" : "matches") : (n == 1 ? "matching line" : "matching lines"));
    };
    const std::string unit = multiline ? "match" : "matching line";
    if (want_match) {
        if (hits.empty())
            return r.fail("pattern_not_found", where + ": no " + unit + " for " + quote_value(pattern) + "; expected at least " +
                                                   std::to_string(min_count));
        if (static_cast<long long>(hits.size()) < min_count)
            return r.fail("too_few_matches", where + ": " + count(hits.size()) + " for " +
                                                 quote_value(pattern) + "; expected at least " + std::to_string(min_count) +
                                                 ": " + list_hits(5));
        return r.pass("pattern_found", count(hits.size()) + " for " + quote_value(pattern) + ": " +
                                           list_hits(3));
    }
    if (!hits.empty())
        return r.fail("pattern_found", count(hits.size()) + " for " + quote_value(pattern) +
                                           "; expected none: " + list_hits(5));
    return r.pass("pattern_not_found", where + ": no " + unit + " for " + quote_value(pattern) + ", as expected");
}

}  // namespace plumb::core
