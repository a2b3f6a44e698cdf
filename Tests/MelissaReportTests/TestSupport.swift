import Foundation
import XCTest
@testable import MelissaReport

/// Attributes whose values are numbers (or lists of numbers) in the SVG we emit.
let numericAttributes: Set<String> = ["x", "y", "x1", "y1", "x2", "y2", "cx", "cy", "r", "width", "height",
                                      "viewBox", "points", "transform", "stroke-width", "fill-opacity",
                                      "stroke-opacity", "font-size", "stroke-dasharray"]

/// The number tokens of a numeric attribute ("rotate(-90 14 130)" yields -90, 14, 130).
func numberTokens(_ value: String) -> [String] {
    let separators = CharacterSet(charactersIn: " ,()")
    return value.components(separatedBy: separators)
        .filter { !$0.isEmpty && $0 != "rotate" }
}

/// Fails when any numeric attribute anywhere under `root` holds something other than a finite number.
func assertAllNumericAttributesFinite(_ root: XMLNode, file: StaticString = #filePath, line: UInt = #line) {
    var checked = 0
    for node in root.all {
        for (name, value) in node.attributes where numericAttributes.contains(name) {
            for token in numberTokens(value) {
                checked += 1
                guard let number = Double(token), number.isFinite else {
                    XCTFail("<\(node.name) \(name)=\"\(value)\"> holds \(token)", file: file, line: line)
                    return
                }
            }
        }
    }
    XCTAssertGreaterThan(checked, 0, "no numeric attributes found at all", file: file, line: line)
}

/// The plot-area rectangle of a parsed chart.
func plotArea(of svg: XMLNode) throws -> PlotArea {
    let rect = try XCTUnwrap(svg.elements("rect").first { $0.hasClass("plot-area") }, "chart has no plot-area rect")
    func number(_ name: String) throws -> Double {
        try XCTUnwrap(Double(rect.attributes[name] ?? ""), "plot-area \(name)")
    }
    return PlotArea(left: try number("x"), top: try number("y"), width: try number("width"), height: try number("height"))
}

/// Points of every element of class `cls` drawn for series `index`.
func pointLists(_ svg: XMLNode, element: String, cls: String, series index: Int) throws -> [[(x: Double, y: Double)]] {
    try svg.elements(element)
        .filter { $0.hasClass(cls) && $0.attributes["data-series"] == String(index) }
        .map { try XCTUnwrap(parsePoints($0.attributes["points"] ?? ""), "malformed points") }
}

/// A time axis 0..<n.
func steps(_ n: Int) -> [Double] { (0..<n).map(Double.init) }
