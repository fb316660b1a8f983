// Unified diffs that match GNU diff -u line for line, so that what `plumb fix --dry-run` shows is what an
// administrator would get from diff(1) and can be fed to patch(1).
//
// The pipeline follows GNU diffutils (io.c, analyze.c, diffseq.h, context.c) for the same choice among equally short
// edit scripts: trim the identical head and tail (keeping `context` lines of each in the analysis), put lines into
// equivalence classes, discard lines that cannot match (and "confusing" runs of very common lines), Myers' O(ND)
// middle-snake divide and conquer on the rest (settling for a near-minimal script on huge, very different inputs, as
// GNU does), then slide each change group as GNU's shift_boundaries does.
#include "plumb/diff.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <unordered_map>
#include <vector>

namespace plumb::remediation {

namespace {

using Lin = std::ptrdiff_t;

// Lines keep their '\n'; only the last can lack it, and then it differs from the same text with one (as in diff).
std::vector<std::string_view> split_lines(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t pos = 0;
    while (pos < s.size()) {
        auto nl = s.find('\n', pos);
        std::size_t end = nl == std::string_view::npos ? s.size() : nl + 1;
        out.push_back(s.substr(pos, end - pos));
        pos = end;
    }
    return out;
}

// A changed-flags array with a zero sentinel before the first and after the last line, as shift_boundaries and the
// script builder read one past either end.
class Flags {
public:
    explicit Flags(Lin n) : v_(static_cast<std::size_t>(n) + 2, 0) {}
    char& operator[](Lin i) { return v_[static_cast<std::size_t>(i + 1)]; }

private:
    std::vector<char> v_;
};

struct Side {
    std::vector<Lin> equivs;       // equivalence class of each analysed line
    std::vector<Lin> undiscarded;  // classes of the lines that take part in the Myers search
    std::vector<Lin> realindex;    // their indexes in `equivs`
    Flags changed{0};
};

// diffseq.h: the linear-space Myers search.
class Compare {
public:
    Compare(Side& a, Side& b) : a_(a), b_(b) {
        const Lin n = static_cast<Lin>(a.undiscarded.size()), m = static_cast<Lin>(b.undiscarded.size());
        diag_.assign(static_cast<std::size_t>(2 * (n + m + 3)), 0);
        offset_ = m + 1;
    }
    void run() {
        // diffseq.h: past about the square root of the input size (at least 4096) edit steps, settle for a good
        // rather than the best split; keeps huge, very different inputs from taking quadratic time.
        Lin too_expensive = 1;
        for (Lin diags = static_cast<Lin>(a_.undiscarded.size() + b_.undiscarded.size()) + 3; diags != 0; diags >>= 2)
            too_expensive <<= 1;
        too_expensive_ = std::max<Lin>(4096, too_expensive);
        compareseq(0, static_cast<Lin>(a_.undiscarded.size()), 0, static_cast<Lin>(b_.undiscarded.size()), false);
    }

private:
    Lin& fd(Lin d) { return diag_[static_cast<std::size_t>(d + offset_)]; }
    Lin& bd(Lin d) { return diag_[diag_.size() / 2 + static_cast<std::size_t>(d + offset_)]; }
    bool eq(Lin x, Lin y) const {
        return a_.undiscarded[static_cast<std::size_t>(x)] == b_.undiscarded[static_cast<std::size_t>(y)];
    }

    // The point where a shortest edit script from (xoff,yoff) to (xlim,ylim) crosses its middle.
    struct Partition {
        Lin xmid = 0, ymid = 0;
        bool lo_minimal = true, hi_minimal = true;  // whether the halves must be solved minimally
    };

    void diag(Lin xoff, Lin xlim, Lin yoff, Lin ylim, bool find_minimal, Partition& part) {
        const Lin dmin = xoff - ylim, dmax = xlim - yoff;
        const Lin fmid = xoff - yoff, bmid = xlim - ylim;
        Lin fmin = fmid, fmax = fmid, bmin = bmid, bmax = bmid;
        const bool odd = (fmid - bmid) & 1;
        fd(fmid) = xoff;
        bd(bmid) = xlim;
        for (Lin c = 1;; ++c) {
            if (fmin > dmin)
                fd(--fmin - 1) = -1;
            else
                ++fmin;
            if (fmax < dmax)
                fd(++fmax + 1) = -1;
            else
                --fmax;
            for (Lin d = fmax; d >= fmin; d -= 2) {
                Lin tlo = fd(d - 1), thi = fd(d + 1);
                Lin x0 = tlo < thi ? thi : tlo + 1;
                Lin x = x0, y = x0 - d;
                while (x < xlim && y < ylim && eq(x, y)) ++x, ++y;
                fd(d) = x;
                if (odd && bmin <= d && d <= bmax && bd(d) <= x) {
                    part = {x, y, true, true};
                    return;
                }
            }
            if (bmin > dmin)
                bd(--bmin - 1) = std::numeric_limits<Lin>::max();
            else
                ++bmin;
            if (bmax < dmax)
                bd(++bmax + 1) = std::numeric_limits<Lin>::max();
            else
                --bmax;
            for (Lin d = bmax; d >= bmin; d -= 2) {
                Lin tlo = bd(d - 1), thi = bd(d + 1);
                Lin x0 = tlo < thi ? tlo : thi - 1;
                Lin x = x0, y = x0 - d;
                while (xoff < x && yoff < y && eq(x - 1, y - 1)) --x, --y;
                bd(d) = x;
                if (!odd && fmin <= d && d <= fmax && x <= fd(d)) {
                    part = {x, y, true, true};
                    return;
                }
            }
            if (find_minimal || c < too_expensive_) continue;
            // Give up: split at whichever search got further, forwards (max x+y) or backwards (min x+y).
            Lin fxybest = -1, fxbest = 0;
            for (Lin d = fmax; d >= fmin; d -= 2) {
                Lin x = std::min(fd(d), xlim), y = x - d;
                if (ylim < y) x = ylim + d, y = ylim;
                if (fxybest < x + y) fxybest = x + y, fxbest = x;
            }
            Lin bxybest = std::numeric_limits<Lin>::max(), bxbest = 0;
            for (Lin d = bmax; d >= bmin; d -= 2) {
                Lin x = std::max(xoff, bd(d)), y = x - d;
                if (y < yoff) x = yoff + d, y = yoff;
                if (x + y < bxybest) bxybest = x + y, bxbest = x;
            }
            if ((xlim + ylim) - bxybest < fxybest - (xoff + yoff))
                part = {fxbest, fxybest - fxbest, true, false};
            else
                part = {bxbest, bxybest - bxbest, false, true};
            return;
        }
    }

    void compareseq(Lin xoff, Lin xlim, Lin yoff, Lin ylim, bool find_minimal) {
        while (xoff < xlim && yoff < ylim && eq(xoff, yoff)) ++xoff, ++yoff;
        while (xoff < xlim && yoff < ylim && eq(xlim - 1, ylim - 1)) --xlim, --ylim;
        if (xoff == xlim) {
            for (; yoff < ylim; ++yoff) b_.changed[b_.realindex[static_cast<std::size_t>(yoff)]] = 1;
        } else if (yoff == ylim) {
            for (; xoff < xlim; ++xoff) a_.changed[a_.realindex[static_cast<std::size_t>(xoff)]] = 1;
        } else {
            Partition part;
            diag(xoff, xlim, yoff, ylim, find_minimal, part);
            compareseq(xoff, part.xmid, yoff, part.ymid, part.lo_minimal);
            compareseq(part.xmid, xlim, part.ymid, ylim, part.hi_minimal);
        }
    }

    Side& a_;
    Side& b_;
    std::vector<Lin> diag_;  // forward then backward furthest-reaching x per diagonal
    Lin offset_ = 0;
    Lin too_expensive_ = 4096;
};

// analyze.c discard_confusing_lines: lines with no match on the other side are changed for certain; lines with very
// many matches are left out of the search when they sit inside runs of such lines.
void discard_confusing_lines(Side side[2], Lin nclasses) {
    std::vector<Lin> count[2] = {std::vector<Lin>(static_cast<std::size_t>(nclasses), 0),
                                 std::vector<Lin>(static_cast<std::size_t>(nclasses), 0)};
    for (int f = 0; f < 2; ++f)
        for (Lin e : side[f].equivs) ++count[f][static_cast<std::size_t>(e)];
    std::vector<char> discards[2];
    for (int f = 0; f < 2; ++f) {
        const Lin end = static_cast<Lin>(side[f].equivs.size());
        discards[f].assign(static_cast<std::size_t>(end), 0);
        Lin many = 5;
        for (Lin tem = end / 64; (tem = tem >> 2) > 0;) many *= 2;
        for (Lin i = 0; i < end; ++i) {
            Lin nmatch = count[1 - f][static_cast<std::size_t>(side[f].equivs[static_cast<std::size_t>(i)])];
            if (nmatch == 0)
                discards[f][static_cast<std::size_t>(i)] = 1;
            else if (nmatch > many)
                discards[f][static_cast<std::size_t>(i)] = 2;
        }
    }
    for (int f = 0; f < 2; ++f) {
        const Lin end = static_cast<Lin>(side[f].equivs.size());
        auto dis = [&](Lin i) -> char& { return discards[f][static_cast<std::size_t>(i)]; };
        for (Lin i = 0; i < end; ++i) {
            if (dis(i) == 2) {
                dis(i) = 0;  // a provisional discard not inside a run
                continue;
            }
            if (dis(i) == 0) continue;
            Lin j, provisional = 0;
            for (j = i; j < end; ++j) {
                if (dis(j) == 0) break;
                if (dis(j) == 2) ++provisional;
            }
            while (j > i && dis(j - 1) == 2) dis(--j) = 0, --provisional;
            const Lin length = j - i;
            if (provisional * 4 > length) {
                while (j > i)
                    if (dis(--j) == 2) dis(j) = 0;
            } else {
                Lin minimum = 1;
                for (Lin tem = length >> 2; 0 < (tem >>= 2);) minimum <<= 1;
                ++minimum;
                Lin consec = 0;
                for (j = 0; j < length; ++j) {
                    if (dis(i + j) != 2)
                        consec = 0;
                    else if (minimum == ++consec)
                        j -= consec;  // back to the start of the subrun, to cancel it all
                    else if (minimum < consec)
                        dis(i + j) = 0;
                }
                consec = 0;
                for (j = 0; j < length; ++j) {
                    if (j >= 8 && dis(i + j) == 1) break;
                    if (dis(i + j) == 2)
                        consec = 0, dis(i + j) = 0;
                    else if (dis(i + j) == 0)
                        consec = 0;
                    else
                        ++consec;
                    if (consec == 3) break;
                }
                i += length - 1;
                consec = 0;
                for (j = 0; j < length; ++j) {
                    if (j >= 8 && dis(i - j) == 1) break;
                    if (dis(i - j) == 2)
                        consec = 0, dis(i - j) = 0;
                    else if (dis(i - j) == 0)
                        consec = 0;
                    else
                        ++consec;
                    if (consec == 3) break;
                }
            }
        }
    }
    for (int f = 0; f < 2; ++f) {
        Side& s = side[f];
        for (std::size_t i = 0; i < s.equivs.size(); ++i) {
            if (discards[f][i] == 0) {
                s.undiscarded.push_back(s.equivs[i]);
                s.realindex.push_back(static_cast<Lin>(i));
            } else {
                s.changed[static_cast<Lin>(i)] = 1;
            }
        }
    }
}

// analyze.c shift_boundaries: move each run of changes as far down as lines equal to its first one allow (merging with
// runs it meets), then back up to line up with a run of changes in the other file if there is one.
void shift_boundaries(Side side[2]) {
    for (int f = 0; f < 2; ++f) {
        Flags& changed = side[f].changed;
        Flags& other_changed = side[1 - f].changed;
        const std::vector<Lin>& equivs = side[f].equivs;
        auto eqv = [&](Lin i) { return equivs[static_cast<std::size_t>(i)]; };
        const Lin i_end = static_cast<Lin>(equivs.size());
        Lin i = 0, j = 0;
        for (;;) {
            while (i < i_end && !changed[i]) {
                while (other_changed[j++]) {
                }
                ++i;
            }
            if (i == i_end) break;
            Lin start = i, runlength, corresponding;
            while (changed[++i]) {
            }
            while (other_changed[j]) ++j;
            do {
                runlength = i - start;
                while (start && eqv(start - 1) == eqv(i - 1)) {
                    changed[--start] = 1;
                    changed[--i] = 0;
                    while (changed[start - 1]) --start;
                    while (other_changed[--j]) {
                    }
                }
                corresponding = other_changed[j - 1] ? i : i_end;
                while (i != i_end && eqv(start) == eqv(i)) {
                    changed[start++] = 0;
                    changed[i++] = 1;
                    while (changed[i]) ++i;
                    while (other_changed[++j]) corresponding = i;
                }
            } while (runlength != i - start);
            while (corresponding < i) {
                changed[--start] = 1;
                changed[--i] = 0;
                while (other_changed[--j]) {
                }
            }
        }
    }
}

struct Change {
    Lin line0, line1;  // first line of the change in each file (absolute, 0-based)
    Lin deleted, inserted;
};

std::string header_name(const char* prefix, std::string_view path) {
    while (path.starts_with('/')) path.remove_prefix(1);
    std::string name = std::string(prefix) + std::string(path);
    // A name with control characters, quotes or backslashes is C-quoted, as git does, so the header stays one line.
    bool plain = std::none_of(name.begin(), name.end(), [](char c) {
        return static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '"' || c == '\\';
    });
    if (plain) return name;
    std::string q = "\"";
    for (char c : name) {
        switch (c) {
            case '"': q += "\\\""; break;
            case '\\': q += "\\\\"; break;
            case '\n': q += "\\n"; break;
            case '\t': q += "\\t"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    const char oct[] = {'\\', static_cast<char>('0' + ((c >> 6) & 3)), static_cast<char>('0' + ((c >> 3) & 7)),
                                        static_cast<char>('0' + (c & 7)), 0};
                    q += oct;
                } else {
                    q += c;
                }
        }
    }
    return q + "\"";
}

// context.c print_unidiff_number_range: an empty range is shown by the line before it, with ",0".
std::string range(Lin first, Lin last) {
    const Lin a = first + 1, b = last + 1;
    if (b < a) return std::to_string(b) + ",0";
    if (b == a) return std::to_string(b);
    return std::to_string(a) + "," + std::to_string(b - a + 1);
}

void put_line(std::string& out, char tag, std::string_view line) {
    out += tag;
    out += line;
    if (!line.ends_with('\n')) out += "\n\\ No newline at end of file\n";
}

}  // namespace

// A file created or removed empty has no lines to show; its diff is then the two header lines alone, so that the
// creation or removal is still visible (GNU diff -N prints nothing there).
std::string unified_diff(const std::string* before, const std::string* after, std::string_view path, int context) {
    if (!before && !after) return {};
    const std::string_view text0 = before ? std::string_view(*before) : std::string_view();
    const std::string_view text1 = after ? std::string_view(*after) : std::string_view();
    if (before && after && text0 == text1) return {};
    if (context < 0) context = 0;
    std::string out = "--- " + (before ? header_name("a/", path) : std::string("/dev/null")) + "\n+++ " +
                      (after ? header_name("b/", path) : std::string("/dev/null")) + "\n";
    const auto lines0 = split_lines(text0), lines1 = split_lines(text1);
    const Lin n0 = static_cast<Lin>(lines0.size()), n1 = static_cast<Lin>(lines1.size());
    auto line0 = [&](Lin i) { return lines0[static_cast<std::size_t>(i)]; };
    auto line1 = [&](Lin i) { return lines1[static_cast<std::size_t>(i)]; };

    // io.c find_identical_ends: the analysed region keeps `context` lines of the identical head and tail.
    Lin prefix = 0;
    while (prefix < n0 && prefix < n1 && line0(prefix) == line1(prefix)) ++prefix;
    const Lin base = std::max<Lin>(0, prefix - context);
    Lin suffix = 0;
    while (suffix < n0 - base && suffix < n1 - base && line0(n0 - 1 - suffix) == line1(n1 - 1 - suffix)) ++suffix;
    const Lin keep = std::min<Lin>(suffix, context);
    const Lin end0 = n0 - suffix + keep, end1 = n1 - suffix + keep;

    Side side[2];
    std::unordered_map<std::string_view, Lin> classes;
    for (Lin i = base; i < end0; ++i) side[0].equivs.push_back(classes.try_emplace(line0(i), classes.size()).first->second);
    for (Lin i = base; i < end1; ++i) side[1].equivs.push_back(classes.try_emplace(line1(i), classes.size()).first->second);
    side[0].changed = Flags(end0 - base);
    side[1].changed = Flags(end1 - base);
    discard_confusing_lines(side, static_cast<Lin>(classes.size()));
    Compare(side[0], side[1]).run();
    shift_boundaries(side);

    // The change groups, in order (analyze.c build_script, forwards).
    std::vector<Change> changes;
    for (Lin i0 = 0, i1 = 0; i0 < end0 - base || i1 < end1 - base;) {
        if (side[0].changed[i0] || side[1].changed[i1]) {
            Change c{i0 + base, i1 + base, 0, 0};
            while (side[0].changed[i0]) ++i0, ++c.deleted;
            while (side[1].changed[i1]) ++i1, ++c.inserted;
            changes.push_back(c);
        } else {
            ++i0, ++i1;
        }
    }

    // context.c: changes fewer than 2*context+1 unchanged lines apart share a hunk.
    for (std::size_t h = 0; h < changes.size();) {
        std::size_t last = h;
        while (last + 1 < changes.size() &&
               changes[last + 1].line0 - (changes[last].line0 + changes[last].deleted) < 2 * context + 1)
            ++last;
        Lin first0 = std::max<Lin>(changes[h].line0 - context, 0);
        Lin first1 = std::max<Lin>(changes[h].line1 - context, 0);
        Lin last0 = changes[last].line0 + changes[last].deleted - 1;
        Lin last1 = changes[last].line1 + changes[last].inserted - 1;
        last0 = last0 < n0 - context ? last0 + context : n0 - 1;
        last1 = last1 < n1 - context ? last1 + context : n1 - 1;
        out += "@@ -" + range(first0, last0) + " +" + range(first1, last1) + " @@\n";
        Lin i = first0, j = first1;
        std::size_t next = h;
        while (i <= last0 || j <= last1) {
            if (next > last || i < changes[next].line0) {
                put_line(out, ' ', line0(i++));
                ++j;
            } else {
                for (Lin k = 0; k < changes[next].deleted; ++k) put_line(out, '-', line0(i++));
                for (Lin k = 0; k < changes[next].inserted; ++k) put_line(out, '+', line1(j++));
                ++next;
            }
        }
        h = last + 1;
    }
    return out;
}

}  // namespace plumb::remediation
