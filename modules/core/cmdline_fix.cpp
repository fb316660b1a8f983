// Remediation of kernel_cmdline for expect=absent: the argument is removed from the boot configuration it was found
// in, changing only the words concerned. GRUB defaults (/etc/default/grub, /etc/default/grub.d/*.cfg) keep their
// quoting and the other words of GRUB_CMDLINE_LINUX / GRUB_CMDLINE_LINUX_DEFAULT; Boot Loader Specification entries
// keep everything but the removed words of their `options` lines. The running kernel keeps its command line until
// the next boot, which the plan says.
#include <cctype>

#include "core.hpp"
#include "plumb/config/keyvalue.hpp"

namespace plumb::core {
namespace {

struct Target {
    std::string key;                   // parameter name with '-' as '_' (the kernel treats them alike)
    std::optional<std::string> value;  // only this value is forbidden; nullopt: any
    std::string shown;
};

std::string param_key(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c == '-') c = '_';
    return out;
}

// One word as the kernel's next_arg() sees it: double quotes group and are dropped (and shell escapes of them).
bool matches(std::string_view word, const Target& t) {
    std::string w;
    for (char c : word)
        if (c != '"' && c != '\\') w += c;
    auto eq = w.find('=');
    if (param_key(w.substr(0, eq)) != t.key) return false;
    if (!t.value) return true;
    return eq != std::string::npos && w.substr(eq + 1) == *t.value;
}

// Removes the matching words from a blank-separated list, keeping the other words and the separators before them.
// Returns how many were removed.
std::size_t remove_words(std::string& list, const Target& t) {
    struct Word {
        std::size_t sep, start, end;  // separator before the word starts at sep
    };
    std::vector<Word> words;
    std::size_t i = 0;
    while (i < list.size()) {
        std::size_t sep = i;
        while (i < list.size() && std::isspace(static_cast<unsigned char>(list[i]))) ++i;
        if (i >= list.size()) break;
        std::size_t start = i;
        bool quoted = false;
        for (; i < list.size(); ++i) {
            if (std::isspace(static_cast<unsigned char>(list[i])) && !quoted) break;
            if (list[i] == '"') quoted = !quoted;
        }
        words.push_back({sep, start, i});
    }
    std::size_t removed = 0;
    std::string out;
    bool first_kept = true;
    for (const auto& w : words) {
        if (matches(std::string_view(list).substr(w.start, w.end - w.start), t)) {
            ++removed;
            continue;
        }
        // the first word kept keeps the list's leading blanks, the others their own separator
        out += first_kept ? list.substr(0, words.front().start - words.front().sep) : list.substr(w.sep, w.start - w.sep);
        out += list.substr(w.start, w.end - w.start);
        first_kept = false;
    }
    if (removed == 0) return 0;
    std::size_t tail = words.empty() ? 0 : words.back().end;
    out += list.substr(tail);
    list = std::move(out);
    return removed;
}

// The lines of `text` (with their '\n') so that single lines can be rewritten and the rest kept byte for byte.
std::vector<std::string> raw_lines(std::string_view text) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t nl = text.find('\n', start);
        std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
        out.emplace_back(text.substr(start, end - start));
        start = end;
    }
    return out;
}

// Edits the value of a shell assignment `NAME=value` in `line` (quoted "..." or '...', or one unquoted word).
std::size_t edit_assignment(std::string& line, const Target& t) {
    std::size_t eq = line.find('=');
    if (eq == std::string::npos) return 0;
    std::size_t begin = eq + 1, end;
    if (begin < line.size() && (line[begin] == '"' || line[begin] == '\'')) {
        const char q = line[begin++];
        end = begin;
        while (end < line.size() && line[end] != q) end += (q == '"' && line[end] == '\\') ? 2 : 1;
        if (end >= line.size()) return 0;  // unterminated: a value spanning lines is left to the operator
    } else {
        end = begin;
        while (end < line.size() && !std::isspace(static_cast<unsigned char>(line[end]))) ++end;
    }
    std::string value = line.substr(begin, end - begin);
    std::size_t n = remove_words(value, t);
    if (n) line = line.substr(0, begin) + value + line.substr(end);
    return n;
}

// Edits an `options ...` line of a BLS entry.
std::size_t edit_options(std::string& line, const Target& t) {
    std::size_t i = line.find_first_not_of(" \t");
    if (i == std::string::npos || line.compare(i, 7, "options") != 0) return 0;
    std::size_t j = i + 7;
    if (j >= line.size() || (line[j] != ' ' && line[j] != '\t')) return 0;
    std::size_t nl = line.find('\n');
    std::string body = line.substr(j, nl == std::string::npos ? std::string::npos : nl - j);
    std::size_t n = remove_words(body, t);
    if (n) line = line.substr(0, j) + body + (nl == std::string::npos ? "" : line.substr(nl));
    return n;
}

struct FileEdit {
    std::string path;
    std::string content;
    std::size_t removed = 0;
};

// Applies `edit` to the given lines (1-based) of one file; empty content when nothing changed.
template <class Edit>
FileEdit edit_file(const std::string& path, std::string_view text, const std::vector<unsigned>& lines, const Target& t, Edit edit) {
    FileEdit fe{path, {}, 0};
    auto raw = raw_lines(text);
    for (unsigned l : lines)
        if (l >= 1 && l <= raw.size()) fe.removed += edit(raw[l - 1], t);
    if (fe.removed)
        for (const auto& l : raw) fe.content += l;
    return fe;
}

// The edits that remove `t` from GRUB defaults and BLS entries. `unreachable` lists options lines whose variables
// (expanded from grubenv) an edit cannot reach.
Result<std::vector<FileEdit>> plan_edits(FileSource& files, const Target& t, bool grub, bool bls, std::vector<std::string>& unreachable) {
    std::vector<FileEdit> edits;
    if (grub) {
        std::vector<std::string> paths{"/etc/default/grub"};
        auto extra = list_dir_if_exists(files, "/etc/default/grub.d");
        if (!extra) return std::unexpected(extra.error());
        for (const auto& n : *extra)
            if (ends_with(n, ".cfg")) paths.push_back(join_path("/etc/default/grub.d", n));
        for (const auto& p : paths) {
            auto text = read_if_exists(files, p);
            if (!text) return std::unexpected(text.error());
            if (!*text) continue;
            std::vector<unsigned> lines;
            for (const auto& e : config::parse_key_value(**text, p, {}).entries) {
                std::string key(trim(e.key));
                if (key.starts_with("export ")) key = std::string(trim(std::string_view(key).substr(7)));
                if (key == "GRUB_CMDLINE_LINUX" || key == "GRUB_CMDLINE_LINUX_DEFAULT") lines.push_back(e.line);
            }
            auto fe = edit_file(p, **text, lines, t, edit_assignment);
            if (fe.removed) edits.push_back(std::move(fe));
        }
    }
    if (bls) {
        const std::string dir = "/boot/loader/entries";
        auto names = list_dir_if_exists(files, dir);
        if (!names) return std::unexpected(names.error());
        for (const auto& n : *names) {
            if (!ends_with(n, ".conf")) continue;
            const std::string p = join_path(dir, n);
            auto text = files.read(p);
            if (!text) return std::unexpected(text.error());
            std::vector<unsigned> lines;
            config::KeyValueSyntax syntax;
            syntax.separator = config::KeyValueSyntax::Separator::whitespace;
            for (const auto& e : config::parse_key_value(*text, p, syntax).entries) {
                if (e.key != "options") continue;
                lines.push_back(e.line);
                if (e.value.find('$') != std::string::npos)
                    unreachable.push_back(p + ":" + std::to_string(e.line) + " takes arguments from a variable ($...) of "
                                          "/boot/grub2/grubenv");
            }
            auto fe = edit_file(p, *text, lines, t, edit_options);
            if (fe.removed) edits.push_back(std::move(fe));
        }
    }
    return edits;
}

}  // namespace

plumb_status Core::remediate_kernel_cmdline(const nlohmann::json& args, sdk::Planner& planner, sdk::Reporter& r) {
    if (args.at("expect") != "absent")
        return r.not_applicable("no_remediation", "only a forbidden argument (expect=absent) is remediated; adding boot "
                                                  "arguments is left to the operator (grubby --update-kernel=ALL --args)");
    Target t;
    t.key = param_key(args.at("argument").get<std::string>());
    if (args.contains("value")) t.value = args["value"].get<std::string>();
    t.shown = args.at("argument").get<std::string>() + (t.value ? "=" + *t.value : "");
    auto wanted = [&](const char* s) {
        if (!args.contains("sources")) return true;
        for (const auto& v : args["sources"])
            if (v == s) return true;
        return false;
    };

    std::vector<std::string> unreachable;
    auto edits = plan_edits(host(), t, wanted("grub"), wanted("bls"), unreachable);
    if (!edits) return r.error("read_failed", edits.error().message);
    if (edits->empty()) {
        if (wanted("proc") && host().is_live())
            if (auto proc = host().read("/proc/cmdline")) {
                std::string line(trim(*proc));
                if (remove_words(line, t))
                    return r.error("reboot_pending", "the boot configuration no longer has " + t.shown +
                                                         " but the running kernel was booted with it (/proc/cmdline); "
                                                         "reboot to comply");
            }
        if (!unreachable.empty())
            return r.error("no_safe_change", t.shown + " may come from " + join(unreachable, ", ") +
                                                 "; plumb does not edit the GRUB environment block: use grubby "
                                                 "--update-kernel=ALL --remove-args=" + t.shown);
        return r.pass("nothing_to_do", "no boot configuration file has " + t.shown);
    }
    std::vector<std::string> done;
    bool grub_defaults = false;
    for (const auto& fe : *edits) {
        if (auto ok = planner.write_file(fe.path, fe.content, 0644, "remove " + t.shown + " from the kernel command line"); !ok)
            return r.error("plan_failed", ok.error().message);
        done.push_back(fe.path);
        grub_defaults = grub_defaults || fe.path.starts_with("/etc/default/");
    }
    // The planned files are what reads see now: nothing may be left.
    std::vector<std::string> ignored;
    auto left = plan_edits(host(), t, wanted("grub"), wanted("bls"), ignored);
    if (!left) return r.error("read_failed", left.error().message);
    if (!left->empty())
        return r.error("no_safe_change", "after planning, " + left->front().path + " would still have " + t.shown);
    if (auto ok = planner.notice(PLUMB_NOTICE_REBOOT_REQUIRED,
                                 "the kernel command line without " + t.shown + " takes effect at the next boot");
        !ok)
        return r.error("plan_failed", ok.error().message);
    if (grub_defaults)
        if (auto ok = planner.notice(PLUMB_NOTICE_MANUAL_STEP,
                                     "regenerate the GRUB configuration from /etc/default/grub (grub2-mkconfig -o "
                                     "/boot/grub2/grub.cfg, or update-grub on Debian) so that new boot entries lack " + t.shown);
            !ok)
            return r.error("plan_failed", ok.error().message);
    return r.fail("planned", "planned removal of " + t.shown + " from " + join(done, ", "));
}

}  // namespace plumb::core
