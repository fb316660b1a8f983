// Validation of everything that comes from metadata before any of it is used: user names, host names, SSH public
// keys and the paths the platform asks keys to be written to. Each check returns a message that names the field
// and says what was expected; the text of hostile values is quoted with escapes so logs stay one line.
#pragma once

#include <string>
#include <string_view>

#include "plumb/error.hpp"

namespace plumb::provision {

// Printable form of untrusted text for messages: control bytes as \xNN, cut at 80 bytes.
std::string quote(std::string_view untrusted);

// POSIX portable user name, as the developer guide fixes it: ^[a-z_][a-z0-9_-]{0,31}$.
Result<void> validate_user_name(std::string_view name);

// A host name for /etc/hostname and sethostname(2): dot-separated labels of [A-Za-z0-9-] (1..63 bytes, no leading
// or trailing '-'), at most 64 bytes in all (HOST_NAME_MAX).
Result<void> validate_hostname(std::string_view name);

// One authorized_keys entry: [options] type base64-blob [comment]. Trailing CR/LF/blanks are stripped (platforms
// send "key\r\n"); a NUL, a line break or another control byte inside is an error, as is an unknown key type, a
// blob that is not base64 or whose embedded type differs from the stated one, or more than 16 KiB. Options are
// kept exactly as given (quote-aware), and the comment too.
struct AuthorizedKey {
    std::string options;  // empty when none
    std::string type;
    std::string blob;
    std::string comment;
    std::string line() const;  // the normalised line, without newline
};
Result<AuthorizedKey> parse_authorized_key(std::string_view key_data);

// The path the platform asks a key to be written to: empty, or exactly "<home>/.ssh/authorized_keys" of the user
// being provisioned. Anything else (another file, "..", a NUL) is refused.
Result<void> validate_key_path(std::string_view path, const std::string& home);

}  // namespace plumb::provision
