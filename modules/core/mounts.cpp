// mount_option: a mount point is a separate file system, and has (or lacks) a mount option, as configured in
// /etc/fstab and, on a live system, as mounted (/proc/self/mountinfo). The last fstab line for a mount point wins
// (mount -a stacks later mounts on top), as does the topmost mount in mountinfo.
#include <cctype>

#include "core.hpp"

namespace plumb::core {

const char* const kMountOptionSchema = R"J({
  "type": "object",
  "properties": {
    "mount_point": {"type": "string", "pattern": "^/", "description": "e.g. /var/log/audit"},
    "option": {"type": "string", "pattern": "^[a-z0-9_=.,-]+$", "description": "e.g. nodev; omit for separate_partition"},
    "expect": {"enum": ["present", "absent", "separate_partition"],
               "description": "present/absent: the option on the mount point's own entry; separate_partition: it has one"}
  },
  "required": ["mount_point", "expect"],
  "additionalProperties": false
})J";

namespace {

constexpr const char* kFstab = "/etc/fstab";
constexpr const char* kMountinfo = "/proc/self/mountinfo";

struct MountEntry {
    std::string mount_point;
    std::string fstype;
    std::vector<std::string> options;
    std::string where;  // file:line
};

// fstab(5) and mountinfo escape blanks and backslashes as \040, \011, \012, \134.
std::string unescape(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isdigit(static_cast<unsigned char>(s[i + 2])) && std::isdigit(static_cast<unsigned char>(s[i + 3]))) {
            out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
            i += 3;
        } else {
            out += s[i];
        }
    }
    return out;
}

std::vector<std::string> words(std::string_view line) {
    std::vector<std::string> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        if (i >= line.size()) break;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        out.emplace_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

std::vector<std::string> split_options(std::string_view s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        auto comma = s.find(',', start);
        if (comma == std::string_view::npos) comma = s.size();
        if (comma > start) out.emplace_back(s.substr(start, comma - start));
        start = comma + 1;
    }
    return out;
}

std::string normalise_mount_point(std::string p) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

std::vector<MountEntry> parse_fstab(std::string_view text) {
    std::vector<MountEntry> out;
    unsigned n = 0;
    for (const auto& raw : split_lines(text)) {
        ++n;
        auto line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        auto w = words(line);
        if (w.size() < 2) continue;
        MountEntry e;
        e.mount_point = normalise_mount_point(unescape(w[1]));
        e.fstype = w.size() > 2 ? w[2] : "";
        e.options = split_options(w.size() > 3 ? std::string_view(w[3]) : std::string_view("defaults"));
        e.where = std::string(kFstab) + ":" + std::to_string(n);
        out.push_back(std::move(e));
    }
    return out;
}

// mountinfo: id parent major:minor root mount_point per-mount-options [optional...] - fstype source super-options.
std::vector<MountEntry> parse_mountinfo(std::string_view text) {
    std::vector<MountEntry> out;
    unsigned n = 0;
    for (const auto& raw : split_lines(text)) {
        ++n;
        auto w = words(raw);
        if (w.size() < 6) continue;
        MountEntry e;
        e.mount_point = normalise_mount_point(unescape(w[4]));
        e.options = split_options(w[5]);
        for (std::size_t i = 6; i + 1 < w.size(); ++i)
            if (w[i] == "-") {
                e.fstype = w[i + 1];
                break;
            }
        e.where = std::string(kMountinfo) + ":" + std::to_string(n);
        out.push_back(std::move(e));
    }
    return out;
}

bool has_option(const MountEntry& e, const std::string& option) {
    for (const auto& o : e.options)
        if (o == option) return true;
    return false;
}

}  // namespace

plumb_status Core::mount_option(const nlohmann::json& args, sdk::Reporter& r) {
    const std::string mount_point = normalise_mount_point(args.at("mount_point").get<std::string>());
    const std::string expect = args.at("expect").get<std::string>();
    const std::string option = args.value("option", "");
    if (expect != "separate_partition" && option.empty())
        return r.error("invalid_argument", "expect " + expect + " needs an option");

    struct Source {
        std::string name;
        std::vector<MountEntry> entries;
    };
    std::vector<Source> sources;
    auto fstab = read_if_exists(host(), kFstab);
    if (!fstab) return r.error("fstab_unreadable", fstab.error().message);
    sources.push_back({kFstab, *fstab ? parse_fstab(**fstab) : std::vector<MountEntry>{}});
    if (host().is_live()) {
        auto info = host().read(kMountinfo);
        if (!info) return r.error("mountinfo_unreadable", info.error().message);
        sources.push_back({kMountinfo, parse_mountinfo(*info)});
    }

    bool ok = true;
    for (const auto& src : sources) {
        const MountEntry* entry = nullptr;
        for (const auto& e : src.entries)
            if (e.mount_point == mount_point && e.fstype != "swap") entry = &e;
        if (!entry) {
            ok = false;
            r.reason("not_separate", mount_point + " has no entry of its own in " + src.name +
                                         (src.name == kFstab && !*fstab ? " (the file does not exist)" : "") +
                                         "; it is part of its parent file system");
            continue;
        }
        const std::string shown = entry->where + " (" + (entry->fstype.empty() ? "?" : entry->fstype) + ", options " +
                                  join(entry->options, ",") + ")";
        if (expect == "separate_partition") {
            r.reason("separate", mount_point + " is a separate mount at " + shown);
            continue;
        }
        bool present = has_option(*entry, option);
        if (present == (expect == "present")) {
            r.reason("option_ok", mount_point + " at " + shown + (present ? " has " : " does not have ") + option);
        } else {
            ok = false;
            r.reason(present ? "option_present" : "option_missing",
                     mount_point + " at " + shown + (present ? " has " : " lacks ") + option + "; expected it " +
                         (expect == "present" ? "present" : "absent"));
        }
    }
    return ok ? PLUMB_STATUS_PASS : PLUMB_STATUS_FAIL;
}

}  // namespace plumb::core
