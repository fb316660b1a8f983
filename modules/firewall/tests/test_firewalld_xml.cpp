// The project XML layer (plumb/config/xml.hpp) as the firewalld remediation uses it: hardened parse, reading helpers,
// and edits that keep everything they do not touch (comments, whitespace, attribute order, other elements).
#include <gtest/gtest.h>

#include "plumb/config/xml.hpp"

namespace xml = plumb::config::xml;

namespace {

xml::Doc parse_ok(const std::string& text, const std::string& name = "t.xml") {
    auto d = xml::parse(text, name);
    EXPECT_TRUE(d.has_value()) << (d ? "" : d.error().message);
    return d ? std::move(*d) : xml::Doc();
}

std::string out(const xml::Doc& d) {
    auto s = xml::serialize(d);
    EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message);
    return s ? *s : "";
}

constexpr const char* kDecl = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n";

}  // namespace

TEST(XmlLayer, ParseAndSerializeKeepLayoutCommentsAndAttributeOrder) {
    const std::string text = std::string(kDecl) +
                             "<!-- site zone, managed by hand -->\n"
                             "<zone target=\"DROP\" version=\"1\">\n"
                             "  <short>Site</short>\n"
                             "\t<service name=\"ssh\"/>   <!-- admins -->\n"
                             "\n"
                             "  <rule family=\"ipv4\">\n"
                             "    <source address=\"10.0.0.0/8\"/>\n"
                             "    <accept/>\n"
                             "  </rule>\n"
                             "</zone>\n";
    auto d = parse_ok(text);
    EXPECT_EQ(out(d), text);
}

TEST(XmlLayer, SerializeAddsTheDeclarationAndAFinalNewline) {
    auto d = parse_ok("<zone><forward/></zone>");
    EXPECT_EQ(out(d), std::string(kDecl) + "<zone><forward/></zone>\n");
}

TEST(XmlLayer, MalformedXmlNamesTheDocumentAndTheLine) {
    auto d = xml::parse("<?xml version=\"1.0\"?>\n<zone>\n  <service name=\"ssh\">\n</zone>\n", "/etc/firewalld/zones/public.xml");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, EINVAL);
    EXPECT_NE(d.error().message.find("/etc/firewalld/zones/public.xml is not well-formed XML: line 4"), std::string::npos)
        << d.error().message;
}

TEST(XmlLayer, DoctypeEntitiesAndExternalReferencesAreRefused) {
    // internal entities (billion laughs) and external entities (file disclosure) both need a DOCTYPE
    auto laughs = xml::parse("<?xml version=\"1.0\"?>\n<!DOCTYPE zone [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>\n"
                             "<zone><short>&b;</short></zone>\n",
                             "laughs.xml");
    ASSERT_FALSE(laughs);
    EXPECT_NE(laughs.error().message.find("document type declaration"), std::string::npos) << laughs.error().message;
    auto external = xml::parse("<?xml version=\"1.0\"?>\n<!DOCTYPE zone [<!ENTITY x SYSTEM \"file:///etc/shadow\">]>\n"
                               "<zone><short>&x;</short></zone>\n",
                               "xxe.xml");
    ASSERT_FALSE(external);
    auto dtd = xml::parse("<?xml version=\"1.0\"?>\n<!DOCTYPE zone SYSTEM \"http://example.invalid/zone.dtd\">\n<zone/>\n", "dtd.xml");
    ASSERT_FALSE(dtd);
    // an undeclared entity is simply an error, never a lookup
    EXPECT_FALSE(xml::parse("<zone><short>&nope;</short></zone>", "undeclared.xml"));
}

TEST(XmlLayer, OversizedDocumentsAreRefused) {
    std::string big = "<zone>" + std::string((1u << 20) + 1, ' ') + "</zone>";
    auto d = xml::parse(big, "big.xml");
    ASSERT_FALSE(d);
    EXPECT_EQ(d.error().code, EFBIG);
}

TEST(XmlLayer, ReadingHelpers) {
    auto d = parse_ok("<zone target=\"ACCEPT\">\n  <service name=\"ssh\"/>\n  <service name=\"http\"/>\n  <port port=\"80\" protocol=\"tcp\"/>\n"
                      "  <rule>\n    <service name=\"dns\"/>\n    <accept/>\n  </rule>\n  <description> spaced  </description>\n</zone>\n");
    xmlNode* z = xml::root(d);
    ASSERT_TRUE(xml::named(z, "zone"));
    EXPECT_EQ(xml::attribute(z, "target"), "ACCEPT");
    EXPECT_EQ(xml::attribute(z, "version"), std::nullopt);
    auto services = xml::elements(z, "service");
    ASSERT_EQ(services.size(), 2u);  // the <service> inside <rule> is not a child of <zone>
    EXPECT_EQ(xml::attribute(services[1], "name"), "http");
    EXPECT_EQ(xml::line_of(services[1]), 3u);
    EXPECT_EQ(xml::elements(z).size(), 5u);
    const xmlNode* rule = xml::child(z, "rule");
    EXPECT_EQ(xml::line_of(rule), 5u);
    EXPECT_EQ(xml::compact_text(rule), "<rule><service name=\"dns\"/><accept/></rule>");
    EXPECT_EQ(xml::text_of(xml::child(z, "description")), "spaced");
    EXPECT_NE(xml::find_descendant(z, "accept"), nullptr);
}

TEST(XmlLayer, InsertAfterCopiesTheSiblingsIndentation) {
    auto d = parse_ok("<zone>\n  <short>S</short>\n  <service name=\"ssh\"/>\n  <forward/>\n</zone>\n");
    xmlNode* z = xml::root(d);
    xml::insert_element(z, "service", {{"name", "http"}}, xml::Position::after_node(xml::elements(z, "service").back()));
    EXPECT_EQ(out(d), std::string(kDecl) +
                          "<zone>\n  <short>S</short>\n  <service name=\"ssh\"/>\n  <service name=\"http\"/>\n  <forward/>\n</zone>\n");
}

TEST(XmlLayer, InsertBeforeAndAtTheEnd) {
    auto d = parse_ok("<zone>\n    <short>S</short>\n    <forward/>\n</zone>\n");
    xmlNode* z = xml::root(d);
    xml::insert_element(z, "interface", {{"name", "lo"}}, xml::Position::before_node(xml::elements(z, "forward")[0]));
    xml::insert_element(z, "masquerade", {});
    EXPECT_EQ(out(d), std::string(kDecl) +
                          "<zone>\n    <short>S</short>\n    <interface name=\"lo\"/>\n    <forward/>\n    <masquerade/>\n</zone>\n");
}

TEST(XmlLayer, InsertIntoAnEmptyOrSelfClosedElement) {
    auto a = parse_ok("<zone>\n</zone>\n");
    xml::insert_element(xml::root(a), "interface", {{"name", "lo"}});
    EXPECT_EQ(out(a), std::string(kDecl) + "<zone>\n  <interface name=\"lo\"/>\n</zone>\n");

    auto b = parse_ok("<zone target=\"ACCEPT\"/>");
    xml::insert_element(xml::root(b), "interface", {{"name", "lo"}});
    EXPECT_EQ(out(b), std::string(kDecl) + "<zone target=\"ACCEPT\">\n  <interface name=\"lo\"/>\n</zone>\n");

    // nested: one level deeper than the parent's own indentation
    auto c = parse_ok("<service>\n  <short>x</short>\n  <module>\n  </module>\n</service>\n");
    xml::insert_element(xml::elements(xml::root(c), "module")[0], "port", {{"port", "1"}});
    EXPECT_EQ(out(c), std::string(kDecl) + "<service>\n  <short>x</short>\n  <module>\n    <port port=\"1\"/>\n  </module>\n</service>\n");
}

TEST(XmlLayer, OneLineDocumentsStayOnOneLine) {
    auto d = parse_ok("<zone><service name=\"ssh\"/></zone>");
    xml::insert_element(xml::root(d), "service", {{"name", "http"}});
    EXPECT_EQ(out(d), std::string(kDecl) + "<zone><service name=\"ssh\"/><service name=\"http\"/></zone>\n");
}

TEST(XmlLayer, AttributeValuesAreEscapedByTheLibrary) {
    auto d = parse_ok("<zone>\n  <short>S</short>\n</zone>\n");
    xml::insert_element(xml::root(d), "source", {{"address", "a\"b<c>&d'"}});
    std::string s = out(d);
    EXPECT_NE(s.find("<source address=\"a&quot;b&lt;c&gt;&amp;d'\"/>"), std::string::npos) << s;
    auto again = parse_ok(s);
    EXPECT_EQ(xml::attribute(xml::elements(xml::root(again), "source")[0], "address"), "a\"b<c>&d'");
}

TEST(XmlLayer, RemoveTakesTheIndentationAlong) {
    auto d = parse_ok("<zone>\n  <interface name=\"eth0\"/>\n  <interface name=\"lo\"/>\n  <!-- keep -->\n  <forward/>\n</zone>\n");
    xml::remove_element(xml::elements(xml::root(d), "interface")[1]);
    EXPECT_EQ(out(d), std::string(kDecl) + "<zone>\n  <interface name=\"eth0\"/>\n  <!-- keep -->\n  <forward/>\n</zone>\n");
    xml::remove_element(xml::elements(xml::root(d), "interface")[0]);
    xml::remove_element(xml::elements(xml::root(d), "forward")[0]);
    EXPECT_EQ(out(d), std::string(kDecl) + "<zone>\n  <!-- keep -->\n</zone>\n");

    auto only = parse_ok("<zone>\n  <forward/>\n</zone>\n");
    xml::remove_element(xml::elements(xml::root(only), "forward")[0]);
    EXPECT_EQ(out(only), std::string(kDecl) + "<zone>\n</zone>\n");
}

TEST(XmlLayer, SetAndRemoveAttributes) {
    auto d = parse_ok("<zone version=\"2\">\n  <short>S</short>\n</zone>\n");
    xml::set_attribute(xml::root(d), "target", "%%REJECT%%");
    EXPECT_EQ(out(d), std::string(kDecl) + "<zone version=\"2\" target=\"%%REJECT%%\">\n  <short>S</short>\n</zone>\n");
    xml::set_attribute(xml::root(d), "target", "DROP");
    xml::remove_attribute(xml::root(d), "version");
    EXPECT_EQ(out(d), std::string(kDecl) + "<zone target=\"DROP\">\n  <short>S</short>\n</zone>\n");
}

TEST(XmlLayer, InsertWithAForeignAnchorThrows) {
    auto d = parse_ok("<zone><a/><b><c/></b></zone>");
    xmlNode* c = xml::elements(xml::elements(xml::root(d), "b")[0], "c")[0];
    EXPECT_THROW(xml::insert_element(xml::root(d), "x", {}, xml::Position::after_node(c)), std::invalid_argument);
}
