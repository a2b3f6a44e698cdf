import XCTest
@testable import MelissaNetCDF

/// A results file small enough to check value by value, shared by the Swift tests and the
/// Python test (Tests/e2e/test_netcdf_files.py repeats these formulas; keep them in step).
///
/// Field "temperature", 4 steps, 11 cells, written by 3 "ranks" owning cells [0,3), [3,10)
/// and [10,11). Extra dimensions: parameter (coordinates 0,1,2; labels alpha,beta,gamma) and
/// quantile_level (0.05, 0.5, 0.95). Values, for step s, cell c, extra index e:
///   mean[s,c]          = 1000 s + c
///   variance[s,c]      = NaN when c % 4 == 0, else 1000 s + c + 0.5
///   count[s,c]         = s + c                    (int64)
///   sobol_first[e,s,c] = 1000 s + c + 0.25 e
///   quantile[e,s,c]    = 1000 s + c + 0.25 e
enum ResultsFixture {
    static let steps = 4
    static let cells = 11
    static let rankRanges = [0..<3, 3..<10, 10..<11]

    static let schema = FieldResultsSchema(
        field: "temperature", nbTimeSteps: steps, cellCount: cells,
        extraDimensions: [
            ExtraDimension(name: "parameter", coordinates: [0, 1, 2], units: "1",
                           description: "index of the study parameter", labels: ["alpha", "beta", "gamma"]),
            ExtraDimension(name: "quantile_level", coordinates: [0.05, 0.5, 0.95], units: "1",
                           description: "quantile level"),
        ],
        variables: [
            ResultVariable(name: "mean", units: "K", description: "mean over simulations"),
            ResultVariable(name: "variance", units: "K2", description: "unbiased sample variance"),
            ResultVariable(name: "count", isInteger: true, units: "1", description: "samples folded in"),
            ResultVariable(name: "sobol_first", extraDimension: "parameter", units: "1",
                           description: "first-order Sobol index"),
            ResultVariable(name: "quantile", extraDimension: "quantile_level", units: "K", description: "quantile estimate"),
        ],
        globalAttributes: [
            ("study", .text("fixture study")),
            ("parameter_names", .text("alpha,beta,gamma")),
            ("nb_simulations", .int64(12)),
            ("l_bounds", .doubles([0.5, 100, 1])),
            ("threshold", .double(0.75)),
        ])

    /// The value of `variable` at extra index `extra` (0 without one), step and cell.
    static func value(_ variable: String, extra: Int, step: Int, cell: Int) -> Double {
        let base = Double(1000 * step + cell)
        switch variable {
        case "variance": return cell % 4 == 0 ? .nan : base + 0.5
        case "count": return Double(step + cell)
        case "sobol_first", "quantile": return base + 0.25 * Double(extra)
        default: return base
        }
    }

    /// One rank's block, step-major, as FieldResultsFile.writeBlock takes it.
    static func block(_ variable: String, extra: Int, cells range: Range<Int>) -> [Double] {
        (0..<steps).flatMap { step in range.map { value(variable, extra: extra, step: step, cell: $0) } }
    }

    /// Every (variable, extra index) pair, with the number of extra indices of its dimension.
    static var slices: [(variable: String, extra: Int?)] {
        schema.variables.flatMap { variable -> [(variable: String, extra: Int?)] in
            guard let extraName = variable.extraDimension,
                  let extra = schema.extraDimensions.first(where: { $0.name == extraName }) else {
                return [(variable.name, nil)]
            }
            return extra.coordinates.indices.map { (variable.name, $0) }
        }
    }

    /// Creates the file and writes every block of every rank in a shuffled (seeded) order.
    static func write(to path: String, seed: UInt64) throws {
        try FieldResultsFile.create(path: path, schema: schema)
        var writes = slices.flatMap { slice in rankRanges.map { (slice, $0) } }
        var generator = SeededGenerator(state: seed)
        writes.shuffle(using: &generator)
        for ((variable, extra), range) in writes {
            let values = block(variable, extra: extra ?? 0, cells: range)
            try values.withUnsafeBufferPointer { buffer throws(NetCDFError) in
                try FieldResultsFile.writeBlock(path: path, variable: variable, extraIndex: extra,
                                                cellRange: range, values: buffer)
            }
        }
    }
}
