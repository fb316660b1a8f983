// XML parsed one safe way for the whole project (ovf-env.xml and the wireserver goal state in the provisioner,
// firewalld zone files in the firewall module): libxml2 with no network access, no entity substitution, no DTD loading,
// and any document type declaration refused.
//
// Editing (remediation of firewalld zone files) works on the parsed tree and serializes it again: parse() keeps every
// text node, whitespace and comment, so a document that is parsed and serialized without changes keeps its layout,
// and the edit functions below copy the indentation of the neighbouring elements, so an edit touches only the lines
// concerned. Values go through libxml2 (attribute escaping included), never through string pasting.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libxml/tree.h>

#include "plumb/error.hpp"

namespace plumb::config::xml {

struct DocDeleter {
    void operator()(xmlDoc* d) const;  // libxml2 is loaded on first use (xml.cpp)
};
using Doc = std::unique_ptr<xmlDoc, DocDeleter>;

// `name` names the document in errors ("ovf-env.xml is not well-formed XML: line 3: ..."). Documents over 1 MiB are
// refused (EFBIG), malformed ones and ones with a DOCTYPE are EINVAL. Whitespace, comments and processing
// instructions are kept in the tree; line numbers are kept for every element (line_of).
Result<Doc> parse(std::string_view text, const std::string& name);

bool named(const xmlNode* n, const char* local);
const xmlNode* child(const xmlNode* n, const char* local);             // first element child of that name
const xmlNode* find_descendant(const xmlNode* n, const char* local);   // depth-first
std::string text_of(const xmlNode* n);  // element text without surrounding whitespace ("" for nullptr)

// --- Reading helpers -------------------------------------------------------------------------------------------

// The root element (nullptr for an empty document).
xmlNode* root(const Doc& doc);
// Element children in document order; with `local`, only those of that name.
std::vector<xmlNode*> elements(const xmlNode* n, const char* local = nullptr);
// The value of an attribute without namespace (nullopt when absent).
std::optional<std::string> attribute(const xmlNode* n, const char* name);
// The line the element starts on in the parsed text (0 when unknown, e.g. for nodes added by an edit).
unsigned line_of(const xmlNode* n);
// One element and its content as XML text on one line: whitespace-only text between elements is dropped, so
// `<rule>\n  <accept/>\n</rule>` is "<rule><accept/></rule>". For keeping an element the caller does not model as
// opaque, comparable text.
std::string compact_text(const xmlNode* n);

// --- Editing ---------------------------------------------------------------------------------------------------

using Attributes = std::vector<std::pair<std::string, std::string>>;

// Where a new element goes among the children of a parent.
struct Position {
    enum class Kind { last, after, before };
    Kind kind = Kind::last;
    xmlNode* anchor = nullptr;  // a child element of the parent for after/before
    static Position at_end() { return {}; }
    static Position after_node(xmlNode* n) { return {Kind::after, n}; }
    static Position before_node(xmlNode* n) { return {Kind::before, n}; }
};

// Adds an empty element <local attr="value" .../> (attributes in the order given) as a child of `parent` and returns
// it. The indentation is copied from the sibling elements (from the parent's own indentation plus two spaces when it
// has no element children), so that the new element sits on its own line like its neighbours; elements written on
// one line stay on one line. Throws std::invalid_argument when the anchor is not a child of `parent`.
xmlNode* insert_element(xmlNode* parent, const char* local, const Attributes& attributes, Position where = {});
// Appends <local>text</local> (or an empty <local/> without text) as the last child of `parent`, with no
// indentation: for building documents (the wireserver health report), not for editing people's files.
xmlNode* append_element(xmlNode* parent, const char* local, const std::optional<std::string>& text = std::nullopt);
// Removes an element together with the indentation in front of it.
void remove_element(xmlNode* n);
void set_attribute(xmlNode* n, const char* name, const std::string& value);
void remove_attribute(xmlNode* n, const char* name);

// The whole document as text with the XML declaration <?xml version="1.0" encoding="utf-8"?>, the text nodes as they
// are (no re-indentation) and a final newline.
Result<std::string> serialize(const Doc& doc);

}  // namespace plumb::config::xml
