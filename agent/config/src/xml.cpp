#include "plumb/config/xml.hpp"

#include <cstring>
#include <stdexcept>

#include <libxml/parser.h>
#include <libxml/xmlsave.h>

#include "plumb/lazy_library.hpp"

namespace plumb::config::xml {

namespace {

// libxml2 (and the ICU and compression libraries it pulls in: megabytes of mappings) is loaded on first use, so that
// loading the firewall module costs an audit that never reads XML nothing.
struct XmlApi {
    PLUMB_LAZY_FN(xmlAddChild);
    PLUMB_LAZY_FN(xmlAddNextSibling);
    PLUMB_LAZY_FN(xmlAddPrevSibling);
    PLUMB_LAZY_FN(xmlBufferContent);
    PLUMB_LAZY_FN(xmlBufferCreate);
    PLUMB_LAZY_FN(xmlBufferFree);
    PLUMB_LAZY_FN(xmlBufferLength);
    PLUMB_LAZY_FN(xmlCopyNode);
    PLUMB_LAZY_FN(xmlCtxtGetLastError);
    PLUMB_LAZY_FN(xmlCtxtReadMemory);
    PLUMB_LAZY_FN(xmlDocDumpMemoryEnc);
    PLUMB_LAZY_FN(xmlDocGetRootElement);
    PLUMB_LAZY_FN(xmlFreeNode);
    PLUMB_LAZY_FN(xmlFreeParserCtxt);
    PLUMB_LAZY_FN(xmlGetLineNo);
    PLUMB_LAZY_FN(xmlGetNoNsProp);
    PLUMB_LAZY_FN(xmlNewDocNode);
    PLUMB_LAZY_FN(xmlNewDocText);
    PLUMB_LAZY_FN(xmlNewParserCtxt);
    PLUMB_LAZY_FN(xmlNewProp);
    PLUMB_LAZY_FN(xmlNodeDump);
    PLUMB_LAZY_FN(xmlNodeGetContent);
    PLUMB_LAZY_FN(xmlSetProp);
    PLUMB_LAZY_FN(xmlUnlinkNode);
    PLUMB_LAZY_FN(xmlUnsetProp);
    PLUMB_LAZY_FN(xmlFreeDoc);
    xmlFreeFunc* xmlFree_variable = nullptr;  // xmlFree is a variable holding the deallocator
};

plumb::sdk::LazyLibrary<XmlApi> libxml2("libxml2.so.2", [](auto& lib, XmlApi& a) {
    return lib.bind(a.xmlAddChild, "xmlAddChild") &&
           lib.bind(a.xmlAddNextSibling, "xmlAddNextSibling") &&
           lib.bind(a.xmlAddPrevSibling, "xmlAddPrevSibling") &&
           lib.bind(a.xmlBufferContent, "xmlBufferContent") &&
           lib.bind(a.xmlBufferCreate, "xmlBufferCreate") &&
           lib.bind(a.xmlBufferFree, "xmlBufferFree") &&
           lib.bind(a.xmlBufferLength, "xmlBufferLength") &&
           lib.bind(a.xmlCopyNode, "xmlCopyNode") &&
           lib.bind(a.xmlCtxtGetLastError, "xmlCtxtGetLastError") &&
           lib.bind(a.xmlCtxtReadMemory, "xmlCtxtReadMemory") &&
           lib.bind(a.xmlDocDumpMemoryEnc, "xmlDocDumpMemoryEnc") &&
           lib.bind(a.xmlDocGetRootElement, "xmlDocGetRootElement") &&
           lib.bind(a.xmlFreeNode, "xmlFreeNode") &&
           lib.bind(a.xmlFreeParserCtxt, "xmlFreeParserCtxt") &&
           lib.bind(a.xmlGetLineNo, "xmlGetLineNo") &&
           lib.bind(a.xmlGetNoNsProp, "xmlGetNoNsProp") &&
           lib.bind(a.xmlNewDocNode, "xmlNewDocNode") &&
           lib.bind(a.xmlNewDocText, "xmlNewDocText") &&
           lib.bind(a.xmlNewParserCtxt, "xmlNewParserCtxt") &&
           lib.bind(a.xmlNewProp, "xmlNewProp") &&
           lib.bind(a.xmlNodeDump, "xmlNodeDump") &&
           lib.bind(a.xmlNodeGetContent, "xmlNodeGetContent") &&
           lib.bind(a.xmlSetProp, "xmlSetProp") &&
           lib.bind(a.xmlUnlinkNode, "xmlUnlinkNode") &&
           lib.bind(a.xmlUnsetProp, "xmlUnsetProp") &&
           lib.bind(a.xmlFreeDoc, "xmlFreeDoc") &&
           lib.bind(a.xmlFree_variable, "xmlFree");
});

// The loaded API. Every path to a document goes through parse() first, which reports a load failure as an error;
// a caller that built a document with libxml2 itself has it loaded already.
const XmlApi& xml() { return libxml2.require(); }

void xml_free(void* p) { (*xml().xmlFree_variable)(p); }
struct CtxtDeleter {
    void operator()(xmlParserCtxt* c) const { xml().xmlFreeParserCtxt(c); }
};
constexpr std::size_t kMaxSize = 1u << 20;

const xmlChar* x(const char* s) { return reinterpret_cast<const xmlChar*>(s); }
const char* c(const xmlChar* s) { return reinterpret_cast<const char*>(s); }

bool is_blank_text(const xmlNode* n) {
    if (!n || n->type != XML_TEXT_NODE) return false;
    for (const xmlChar* p = n->content; p && *p; ++p)
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') return false;
    return true;
}

// The whitespace text node right before `n`, or nullptr.
xmlNode* blank_before(const xmlNode* n) { return n && is_blank_text(n->prev) ? n->prev : nullptr; }

// The indentation of an element's line: what follows the last newline of the blank text in front of it ("" when it
// does not start a line, or when it is the root).
std::string indentation_of(const xmlNode* n) {
    const xmlNode* b = blank_before(n);
    if (!b) return {};
    std::string s = c(b->content);
    auto nl = s.rfind('\n');
    return nl == std::string::npos ? std::string() : s.substr(nl + 1);
}

// The first error of a parse: libxml2 goes on after a fatal error and its last error ("Premature end of data")
// is often far from the cause, so the first one is kept (the parser context's _private points at it).
struct FirstError {
    bool set = false;
    int line = 0;
    std::string message;
};
void keep_first_error(void* user, xmlError* e) {
    auto* ctxt = static_cast<xmlParserCtxt*>(user);
    auto* first = ctxt ? static_cast<FirstError*>(ctxt->_private) : nullptr;
    if (!first || first->set || !e || e->level < XML_ERR_ERROR) return;
    first->set = true;
    first->line = e->line;
    first->message = e->message ? e->message : "malformed XML";
}

xmlNode* new_text(xmlDoc* doc, const std::string& s) { return xml().xmlNewDocText(doc, x(s.c_str())); }

void drop_blank_text(xmlNode* n) {
    for (xmlNode* k = n->children; k;) {
        xmlNode* next = k->next;
        if (is_blank_text(k)) {
            xml().xmlUnlinkNode(k);
            xml().xmlFreeNode(k);
        } else if (k->type == XML_ELEMENT_NODE) {
            drop_blank_text(k);
        }
        k = next;
    }
}
}  // namespace

Result<Doc> parse(std::string_view text, const std::string& name) {
    if (text.size() > kMaxSize) return fail(EFBIG, name + " is larger than 1 MiB");
    if (auto loaded = libxml2.get(); !loaded) return fail(loaded.error().code, name + ": " + loaded.error().message);
    std::unique_ptr<xmlParserCtxt, CtxtDeleter> ctxt(xml().xmlNewParserCtxt());
    if (!ctxt) return fail(ENOMEM, "libxml2: cannot create a parser");
    FirstError first;
    ctxt->_private = &first;
    if (ctxt->sax) ctxt->sax->serror = &keep_first_error;  // structured errors go to us, not to stderr
    // NONET: never fetch anything. No NOENT (entities are not substituted), no DTDLOAD/DTDVALID/DTDATTR. No NOBLANKS:
    // whitespace stays in the tree so that an edited document keeps its layout. BIG_LINES: line numbers past 65535.
    const int options = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES;
    Doc doc(xml().xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()), name.c_str(), nullptr, options));
    if (!doc) {
        const xmlError* e = xml().xmlCtxtGetLastError(ctxt.get());
        std::string why = first.set ? first.message : e && e->message ? e->message : "malformed XML";
        const int line = first.set ? first.line : e ? e->line : 0;
        while (!why.empty() && why.back() == '\n') why.pop_back();
        return fail_invalid(name + " is not well-formed XML: line " + std::to_string(line) + ": " + why);
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
    xmlChar* t = xml().xmlNodeGetContent(n);
    std::string s = t ? reinterpret_cast<const char*>(t) : "";
    xml_free(t);
    // Element text is often indented; the values the provisioner reads never start or end with blanks.
    size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

xmlNode* root(const Doc& doc) { return doc ? xml().xmlDocGetRootElement(doc.get()) : nullptr; }

std::vector<xmlNode*> elements(const xmlNode* n, const char* local) {
    std::vector<xmlNode*> out;
    for (xmlNode* k = n ? n->children : nullptr; k; k = k->next)
        if (k->type == XML_ELEMENT_NODE && (!local || named(k, local))) out.push_back(k);
    return out;
}

std::optional<std::string> attribute(const xmlNode* n, const char* name) {
    if (!n || n->type != XML_ELEMENT_NODE) return std::nullopt;
    xmlChar* v = xml().xmlGetNoNsProp(n, x(name));
    if (!v) return std::nullopt;
    std::string s = c(v);
    xml_free(v);
    return s;
}

unsigned line_of(const xmlNode* n) {
    if (!n) return 0;
    long l = xml().xmlGetLineNo(n);
    return l > 0 ? static_cast<unsigned>(l) : 0;
}

std::string compact_text(const xmlNode* n) {
    if (!n) return {};
    xmlNode* copy = xml().xmlCopyNode(const_cast<xmlNode*>(n), 1);
    if (!copy) return {};
    drop_blank_text(copy);
    xmlBuffer* buf = xml().xmlBufferCreate();
    std::string out;
    if (buf) {
        if (xml().xmlNodeDump(buf, n->doc, copy, 0, 0) >= 0) out.assign(c(xml().xmlBufferContent(buf)), static_cast<std::size_t>(xml().xmlBufferLength(buf)));
        xml().xmlBufferFree(buf);
    }
    xml().xmlFreeNode(copy);
    return out;
}

xmlNode* insert_element(xmlNode* parent, const char* local, const Attributes& attributes, Position where) {
    if (!parent || parent->type != XML_ELEMENT_NODE) throw std::invalid_argument("insert_element: the parent is not an element");
    if (where.kind != Position::Kind::last && (!where.anchor || where.anchor->parent != parent))
        throw std::invalid_argument("insert_element: the anchor is not a child of the parent");
    xmlDoc* doc = parent->doc;
    xmlNode* element = xml().xmlNewDocNode(doc, nullptr, x(local), nullptr);
    if (!element) throw std::bad_alloc();
    for (const auto& [k, v] : attributes) xml().xmlNewProp(element, x(k.c_str()), x(v.c_str()));

    std::vector<xmlNode*> siblings = elements(parent);
    if (where.kind == Position::Kind::last && !siblings.empty()) where = Position::after_node(siblings.back());

    if (where.kind == Position::Kind::after) {
        // ... anchor [blank copied from the anchor's] element ...
        xmlNode* b = blank_before(where.anchor);
        xml().xmlAddNextSibling(where.anchor, element);
        if (b) xml().xmlAddPrevSibling(element, new_text(doc, c(b->content)));
        return element;
    }
    if (where.kind == Position::Kind::before) {
        // ... [blank] element [copy of the blank] anchor ...
        xmlNode* b = blank_before(where.anchor);
        xml().xmlAddPrevSibling(where.anchor, element);
        if (b) xml().xmlAddNextSibling(element, new_text(doc, c(b->content)));
        return element;
    }
    // No element children: one level deeper than the parent, each on its own line if the parent is on its own line
    // (or is the root element).
    const bool own_line = blank_before(parent) != nullptr || parent == xml().xmlDocGetRootElement(doc);
    const std::string outer = indentation_of(parent);
    const std::string sep = own_line ? "\n" + outer + "  " : std::string();
    xmlNode* last = parent->last;
    if (is_blank_text(last)) {
        // "<zone>\n</zone>": the new element goes in front of the closing line's blank.
        xml().xmlAddPrevSibling(last, element);
    } else {
        xml().xmlAddChild(parent, element);
        if (own_line) xml().xmlAddNextSibling(element, new_text(doc, "\n" + outer));
    }
    if (!sep.empty()) xml().xmlAddPrevSibling(element, new_text(doc, sep));
    return element;
}

xmlNode* append_element(xmlNode* parent, const char* local, const std::optional<std::string>& text) {
    if (!parent || parent->type != XML_ELEMENT_NODE) throw std::invalid_argument("append_element: the parent is not an element");
    xmlNode* element = xml().xmlNewDocNode(parent->doc, nullptr, x(local), nullptr);
    if (!element) throw std::bad_alloc();
    xml().xmlAddChild(parent, element);
    // A text node: libxml2 escapes it when serializing, whatever the value holds.
    if (text) xml().xmlAddChild(element, new_text(parent->doc, *text));
    return element;
}

void remove_element(xmlNode* n) {
    if (!n) return;
    if (xmlNode* b = blank_before(n)) {
        // The element's own indentation goes with it; the blank after it closes the previous line or the parent:
        // "<zone>\n  <a/>\n  <b/>\n</zone>" without <b/> is "<zone>\n  <a/>\n</zone>", without both "<zone>\n</zone>".
        xml().xmlUnlinkNode(b);
        xml().xmlFreeNode(b);
    }
    xml().xmlUnlinkNode(n);
    xml().xmlFreeNode(n);
}

void set_attribute(xmlNode* n, const char* name, const std::string& value) { xml().xmlSetProp(n, x(name), x(value.c_str())); }

void remove_attribute(xmlNode* n, const char* name) { xml().xmlUnsetProp(n, x(name)); }

Result<std::string> serialize(const Doc& doc) {
    if (!doc) return fail_invalid("serialize: no document");
    xmlChar* out = nullptr;
    int size = 0;
    xml().xmlDocDumpMemoryEnc(doc.get(), &out, &size, "utf-8");
    if (!out) return fail(ENOMEM, "libxml2: cannot serialize the document");
    std::string s(c(out), static_cast<std::size_t>(size));
    xml_free(out);
    if (s.empty() || s.back() != '\n') s += '\n';
    return s;
}

void DocDeleter::operator()(xmlDoc* d) const { xml().xmlFreeDoc(d); }

}  // namespace plumb::config::xml
