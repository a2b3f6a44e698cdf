import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// A parsed XML element: enough of a DOM to check the report's structure.
final class XMLNode {
    let name: String
    let attributes: [String: String]
    var children: [XMLNode] = []
    var text = ""

    init(name: String, attributes: [String: String]) {
        self.name = name
        self.attributes = attributes
    }

    /// This element and all its descendants, depth first.
    var all: [XMLNode] { [self] + children.flatMap(\.all) }

    /// Descendants (and self) with the given local name.
    func elements(_ name: String) -> [XMLNode] { all.filter { $0.name == name } }

    /// Text of this element and its descendants.
    var fullText: String { text + children.map(\.fullText).joined() }

    /// Whether the class attribute lists `name`.
    func hasClass(_ name: String) -> Bool {
        (attributes["class"] ?? "").split(separator: " ").contains { $0 == name }
    }
}

/// Parses a document with Foundation's XMLParser; fails with the parser's error when it is not well-formed.
final class XMLTreeBuilder: NSObject, XMLParserDelegate {
    private var stack: [XMLNode] = []
    private(set) var root: XMLNode?

    struct NotWellFormed: Error, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) throws -> XMLNode {
        let parser = XMLParser(data: Data(text.utf8))
        let builder = XMLTreeBuilder()
        parser.delegate = builder
        guard parser.parse(), let root = builder.root else {
            throw NotWellFormed(description: "line \(parser.lineNumber): \(String(describing: parser.parserError))")
        }
        return root
    }

    func parser(_ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?, attributes attributeDict: [String: String] = [:]) {
        let node = XMLNode(name: elementName, attributes: attributeDict)
        if let parent = stack.last {
            parent.children.append(node)
        } else {
            root = node
        }
        stack.append(node)
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?,
                qualifiedName qName: String?) {
        _ = stack.popLast()
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        stack.last?.text += string
    }
}

/// Parses an SVG `points` attribute into coordinate pairs; nil when any number is malformed.
func parsePoints(_ attribute: String) -> [(x: Double, y: Double)]? {
    var result: [(x: Double, y: Double)] = []
    for pair in attribute.split(separator: " ") {
        let parts = pair.split(separator: ",")
        guard parts.count == 2, let x = Double(parts[0]), let y = Double(parts[1]) else { return nil }
        result.append((x, y))
    }
    return result
}
