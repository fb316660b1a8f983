// Unified diffs for remediation plans (what `plumb fix --dry-run` shows).
#pragma once

#include <string>
#include <string_view>

namespace plumb::remediation {

// A unified diff (diff -u format, 3 lines of context, "--- a/PATH" / "+++ b/PATH" headers, "\ No newline at end of
// file" markers) from `before` to `after`. Empty when they are equal. A file that does not exist is passed as
// nullptr and shown against /dev/null.
std::string unified_diff(const std::string* before, const std::string* after, std::string_view path, int context = 3);

}  // namespace plumb::remediation
