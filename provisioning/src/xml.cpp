#include "xml.hpp"

#include <cstring>

#include <libxml/parser.h>

namespace plumb::provision::xml {

namespace {
struct CtxtDeleter {
    void operator()(xmlParserCtxt* c) const { xmlFreeParserCtxt(c); }
};
constexpr std::size_t kMaxSize = 1u << 20;
}  // namespace

Result<Doc> parse(std::string_view text, const std::string& name) {
    if (text.size() > kMaxSize) return fail(EFBIG, name + " is larger than 1 MiB");
    std::unique_ptr<xmlParserCtxt, CtxtDeleter> ctxt(xmlNewParserCtxt());
    if (!ctxt) return fail(ENOMEM, "libxml2: cannot create a parser");
    // NONET: never fetch anything. No NOENT (entities are not substituted), no DTDLOAD/DTDVALID/DTDATTR.
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    Doc doc(xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), name.c_str(), nullptr, options));
    if (!doc) {
        const xmlError* e = xmlCtxtGetLastError(ctxt.get());
        std::string why = e && e->message ? e->message : "malformed XML";
        while (!why.empty() && why.back() == '\n') why.pop_back();
        return fail_invalid(name + " is not well-formed XML: line " + std::to_string(e ? e->line : 0) + ": " + why);
    }
    if (doc->intSubset || doc->extSubset)
        return fail_invalid(name + " has a document type declaration; DTDs and entities are refused");
    return doc;
}

bool named(const xmlNode* n, const char* local) {
    return n && n->type == XML_ELEMENT_NODE && std::strcmp(reinterpret_cast<const char*>(n->name), local) == 0;
}

const xmlNode* child(const xmlNode* n, const char* local) {
    for (const xmlNode* c = n ? n->children : nullptr; c; c = c->next)
        if (named(c, local)) return c;
    return nullptr;
}

const xmlNode* find_descendant(const xmlNode* n, const char* local) {
    for (const xmlNode* c = n ? n->children : nullptr; c; c = c->next) {
        if (named(c, local)) return c;
        if (const xmlNode* d = find_descendant(c, local)) return d;
    }
    return nullptr;
}

std::string text_of(const xmlNode* n) {
    if (!n) return {};
    xmlChar* t = xmlNodeGetContent(n);
    std::string s = t ? reinterpret_cast<const char*>(t) : "";
    xmlFree(t);
    // Element text is often indented; the values the provisioner reads never start or end with blanks.
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

}  // namespace plumb::provision::xml
