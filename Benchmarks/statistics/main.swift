// Statistics kernel benchmark: folds N seeded messages of K float64 values into
// FieldStatistics (moments up to order 4 + min + max) and into SobolMartinez (p = 3,
// messages grouped 5 at a time as A, B, C1, C2, C3), and prints element-updates per
// second. With --data-out it writes the messages as an (N, K) float64 .npy file, with
// --results-out the results as .npy files, so Benchmarks/statistics/reference.py runs
// iterative-stats on the same data and compares. Driven by Benchmarks/statistics/run.sh.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MelissaStatistics

struct Options {
    var messages = 2000
    var cells = 10_000
    var seed: UInt64 = 20_240_601
    var repeats = 3
    /// Time steps of the state: message i goes to step i % steps, Sobol group g to step
    /// g % steps. With many steps the state no longer fits in cache, as in a real study.
    var steps = 1
    var dataOut: String?
    var resultsOut: String?
    /// Cells of the (untimed) quantile cross-check against IterativeQuantile.
    var quantileCells = 1000
}

func usage() -> Never {
    print("""
    usage: melissa-bench-statistics [--messages N] [--cells K] [--seed S] [--repeat R]
                                    [--steps S] [--data-out FILE.npy] [--results-out DIR] [--quantile-cells M]
      N must be a multiple of 5 (Sobol groups of A, B, C1, C2, C3) and of 5·S.
    """)
    exit(2)
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    func value(_ name: String) -> String {
        guard let v = args.popFirst() else { print("\(name) needs a value"); usage() }
        return v
    }
    func int(_ name: String) -> Int {
        guard let v = Int(value(name)), v >= 0 else { print("\(name) needs a non-negative integer"); usage() }
        return v
    }
    while let a = args.popFirst() {
        switch a {
        case "--messages": o.messages = int(a)
        case "--cells": o.cells = int(a)
        case "--seed": o.seed = UInt64(int(a))
        case "--repeat": o.repeats = max(1, int(a))
        case "--steps": o.steps = max(1, int(a))
        case "--data-out": o.dataOut = value(a)
        case "--results-out": o.resultsOut = value(a)
        case "--quantile-cells": o.quantileCells = int(a)
        case "-h", "--help": usage()
        default: print("unknown argument \(a)"); usage()
        }
    }
    guard o.messages > 0, o.messages % (5 * o.steps) == 0, o.cells > 0 else {
        print("need N > 0, N a multiple of 5 × steps, K > 0"); usage()
    }
    o.quantileCells = min(o.quantileCells, o.cells)
    return o
}

/// SplitMix64: small, seeded, deterministic.
struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

/// The messages, message-major: group g is messages 5g … 5g+4 = A, B, C1, C2, C3, where
/// C_k is A's inputs with input k from B. Cell c's output is a smooth function of the
/// three inputs with cell-dependent coefficients and an x1·x3 interaction, so every Sobol
/// index is well away from 0 and 1.
func generate(_ o: Options) -> [Double] {
    var rng = SplitMix64(state: o.seed)
    let k = o.cells
    var coeffs = [Double](repeating: 0, count: 5 * k)
    for c in 0 ..< k {
        let t = Double(c)
        coeffs[5 * c] = 10 + 1e-4 * t
        coeffs[5 * c + 1] = 2 + sin(0.010 * t)
        coeffs[5 * c + 2] = 1.5 + cos(0.013 * t)
        coeffs[5 * c + 3] = 1 + 0.5 * sin(0.007 * t)
        coeffs[5 * c + 4] = 1 + 0.5 * cos(0.003 * t)
    }
    var data = [Double](repeating: 0, count: o.messages * k)
    for g in 0 ..< o.messages / 5 {
        let a = (0 ..< 3).map { _ in rng.uniform() }
        let b = (0 ..< 3).map { _ in rng.uniform() }
        var members = [a, b]
        for p in 0 ..< 3 { var x = a; x[p] = b[p]; members.append(x) }
        for (m, x) in members.enumerated() {
            let row = (5 * g + m) * k
            for c in 0 ..< k {
                let cf = 5 * c
                data[row + c] = coeffs[cf] + coeffs[cf + 1] * x[0] + coeffs[cf + 2] * x[1]
                    + coeffs[cf + 3] * x[2] + coeffs[cf + 4] * x[0] * x[2]
            }
        }
    }
    return data
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Writes a C-order float64 .npy file (format 1.0).
func writeNpy(_ path: String, shape: [Int], _ values: UnsafeBufferPointer<Double>) {
    let dims = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '<f8', 'fortran_order': False, 'shape': \(dims), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var prefix: [UInt8] = [0x93] + Array("NUMPY".utf8) + [1, 0]
    let len = UInt16(header.utf8.count)
    prefix += [UInt8(len & 0xFF), UInt8(len >> 8)] + Array(header.utf8)
    guard let f = fopen(path, "wb") else { print("cannot open \(path) for writing"); exit(1) }
    let ok1 = prefix.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, f) } == prefix.count
    let ok2 = fwrite(values.baseAddress, 8, values.count, f) == values.count
    guard ok1, ok2, fclose(f) == 0 else { print("cannot write \(path)"); exit(1) }
}

let options = parseOptions()
let n = options.messages, k = options.cells, steps = options.steps
let data = generate(options)
if let path = options.dataOut {
    data.withUnsafeBufferPointer { writeNpy(path, shape: [n, k], $0) }
}

let momentsSelection = StatisticsSelection(mean: true, variance: true, skewness: true, kurtosis: true,
                                           minimum: true, maximum: true)
var bestMoments = Double.infinity, bestSobol = Double.infinity
var moments = FieldStatistics(selection: momentsSelection, nbTimeSteps: steps, blockSize: k)
var sobol = SobolMartinez(nbParameters: 3, nbTimeSteps: steps, blockSize: k)
data.withUnsafeBufferPointer { all in
    for _ in 0 ..< options.repeats {
        var m = FieldStatistics(selection: momentsSelection, nbTimeSteps: steps, blockSize: k)
        let t0 = now()
        for i in 0 ..< n {
            m.update(step: i % steps, localOffset: 0, values: UnsafeBufferPointer(rebasing: all[i * k ..< (i + 1) * k]))
        }
        bestMoments = min(bestMoments, now() - t0)
        moments = m

        var s = SobolMartinez(nbParameters: 3, nbTimeSteps: steps, blockSize: k)
        let t1 = now()
        for g in 0 ..< n / 5 {
            s.update(step: g % steps, members: UnsafeBufferPointer(rebasing: all[g * 5 * k ..< (g + 1) * 5 * k]))
        }
        bestSobol = min(bestSobol, now() - t1)
        sobol = s
    }
}

let elements = Double(n * k)
print("swift messages=\(n) cells=\(k) steps=\(steps) repeats=\(options.repeats) (best of)")
print("swift moments4+extrema seconds=\(bestMoments) rate=\(elements / bestMoments)")
print("swift sobol-martinez-p3 seconds=\(bestSobol) rate=\(elements / bestSobol)")

if let dir = options.resultsOut {
    // Per step: (steps, K) for the moments, (steps, 3, K) for the indices.
    var out = [Double](repeating: 0, count: steps * k)
    for (name, stat) in [("mean", Statistic.mean), ("variance", .variance), ("skewness", .skewness),
                         ("kurtosis", .kurtosis), ("minimum", .minimum), ("maximum", .maximum)] {
        out.withUnsafeMutableBufferPointer { o in
            for t in 0 ..< steps {
                moments.extract(stat, step: t, into: UnsafeMutableBufferPointer(rebasing: o[t * k ..< (t + 1) * k]))
            }
        }
        out.withUnsafeBufferPointer { writeNpy("\(dir)/\(name).npy", shape: [steps, k], $0) }
    }
    var first = [Double](repeating: 0, count: steps * 3 * k), total = first
    for t in 0 ..< steps {
        for p in 0 ..< 3 {
            let range = (t * 3 + p) * k ..< (t * 3 + p + 1) * k
            first.withUnsafeMutableBufferPointer {
                sobol.firstOrder(parameter: p, step: t, into: UnsafeMutableBufferPointer(rebasing: $0[range]))
            }
            total.withUnsafeMutableBufferPointer {
                sobol.totalOrder(parameter: p, step: t, into: UnsafeMutableBufferPointer(rebasing: $0[range]))
            }
        }
    }
    first.withUnsafeBufferPointer { writeNpy("\(dir)/first_order.npy", shape: [steps, 3, k], $0) }
    total.withUnsafeBufferPointer { writeNpy("\(dir)/total_order.npy", shape: [steps, 3, k], $0) }

    // Untimed cross-check of the Robbins–Monro quantiles on the first M cells.
    let m = options.quantileCells
    let levels = [0.1, 0.5, 0.9]
    var q = FieldStatistics(selection: StatisticsSelection(mean: false, variance: false, quantileLevels: levels,
                                                           expectedSamples: n),
                            nbTimeSteps: 1, blockSize: m)
    data.withUnsafeBufferPointer { all in
        for i in 0 ..< n { q.update(step: 0, localOffset: 0, values: UnsafeBufferPointer(rebasing: all[i * k ..< i * k + m])) }
    }
    var quantiles = [Double](repeating: 0, count: levels.count * m)
    for j in levels.indices {
        quantiles.withUnsafeMutableBufferPointer {
            q.extract(.quantile(j), step: 0, into: UnsafeMutableBufferPointer(rebasing: $0[j * m ..< (j + 1) * m]))
        }
    }
    quantiles.withUnsafeBufferPointer { writeNpy("\(dir)/quantiles.npy", shape: [levels.count, m], $0) }
}
