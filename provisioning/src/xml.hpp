// XML the provisioner reads from the platform (ovf-env.xml, the wireserver goal state), parsed one safe way:
// libxml2 with no network access, no entity substitution, no DTD loading, and any document type declaration refused.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <libxml/tree.h>

#include "plumb/error.hpp"

namespace plumb::provision::xml {

struct DocDeleter {
    void operator()(xmlDoc* d) const { xmlFreeDoc(d); }
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

// `name` names the document in errors ("ovf-env.xml is not well-formed XML: line 3: ..."). Documents over 1 MiB are
// refused (EFBIG), malformed ones and ones with a DOCTYPE are EINVAL.
Result<Doc> parse(std::string_view text, const std::string& name);

bool named(const xmlNode* n, const char* local);
const xmlNode* child(const xmlNode* n, const char* local);             // first element child of that name
const xmlNode* find_descendant(const xmlNode* n, const char* local);   // depth-first
std::string text_of(const xmlNode* n);  // element text without surrounding whitespace ("" for nullptr)

}  // namespace plumb::provision::xml
