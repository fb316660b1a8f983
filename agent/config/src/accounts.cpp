#include "plumb/config/accounts.hpp"

#include "plumb/config/text.hpp"

namespace plumb::config {

AccountTable parse_account_db(std::string_view text, std::string file) {
    AccountTable table;
    table.file = std::move(file);
    unsigned lineno = 0;
    for (const auto& line : split_lines(text)) {
        ++lineno;
        // name:password:id:...; NIS "+"/"-" compat lines and malformed lines are not accounts.
        auto c1 = line.find(':');
        if (c1 == std::string::npos || c1 == 0 || line[0] == '+' || line[0] == '-' || line[0] == '#') continue;
        auto c2 = line.find(':', c1 + 1);
        if (c2 == std::string::npos) continue;
        auto c3 = line.find(':', c2 + 1);
        auto id_text = std::string_view(line).substr(c2 + 1, c3 == std::string::npos ? std::string::npos : c3 - c2 - 1);
        auto id = parse_integer(id_text);
        if (!id || *id < 0 || *id > 0xffffffffLL) continue;
        table.entries.push_back({line.substr(0, c1), static_cast<std::uint32_t>(*id), lineno});
    }
    return table;
}

const Account* AccountTable::by_name(std::string_view name) const {
    for (const auto& a : entries)
        if (a.name == name) return &a;
    return nullptr;
}

const Account* AccountTable::by_id(std::uint32_t id) const {
    for (const auto& a : entries)
        if (a.id == id) return &a;
    return nullptr;
}

}  // namespace plumb::config
