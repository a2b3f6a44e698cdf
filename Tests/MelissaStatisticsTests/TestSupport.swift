#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import XCTest

/// SplitMix64: seeded, deterministic test data.
struct TestRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    mutating func uniform() -> Double { Double(next() >> 11) * 0x1.0p-53 }
    /// Uniform integer in 0 ..< n.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    /// Skewed (shifted exponential) so skewness and kurtosis are far from 0.
    mutating func skewed() -> Double { 5 + 2 * -log(1 - uniform()) }
}

/// Relative difference, 0 when both are 0 or both NaN.
func relativeDifference(_ a: Double, _ b: Double) -> Double {
    if a.isNaN && b.isNaN { return 0 }
    if a == b { return 0 }
    return abs(a - b) / max(abs(a), abs(b))
}

func assertClose(_ actual: Double, _ expected: Double, rel: Double = 1e-12, _ what: @autoclosure () -> String,
                 file: StaticString = #filePath, line: UInt = #line) {
    let d = relativeDifference(actual, expected)
    XCTAssert(d <= rel, "\(what()): got \(actual), expected \(expected) (relative difference \(d))", file: file, line: line)
}

/// Same value, NaN equal to NaN, bit for bit otherwise.
func sameBits(_ a: [Double], _ b: [Double]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) }
}

/// Direct two-pass statistics of a sample.
struct TwoPass {
    let n: Double, mean: Double, m2: Double, m3: Double, m4: Double, min: Double, max: Double

    init(_ xs: [Double]) {
        n = Double(xs.count)
        mean = xs.isEmpty ? .nan : xs.reduce(0, +) / n
        var s2 = 0.0, s3 = 0.0, s4 = 0.0
        for x in xs {
            let d = x - mean
            s2 += d * d
            s3 += d * d * d
            s4 += d * d * d * d
        }
        m2 = s2; m3 = s3; m4 = s4
        min = xs.min() ?? .nan
        max = xs.max() ?? .nan
    }

    var variance: Double { n >= 2 ? m2 / (n - 1) : .nan }
    var skewness: Double { n > 0 && m2 != 0 ? n.squareRoot() * m3 / pow(m2, 1.5) : .nan }
    var kurtosis: Double { n > 0 && m2 != 0 ? n * m4 / (m2 * m2) : .nan }
}

func twoPassCovariance(_ x: [Double], _ y: [Double]) -> Double {
    guard x.count >= 2 else { return .nan }
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    return zip(x, y).reduce(0) { $0 + ($1.0 - mx) * ($1.1 - my) } / (n - 1)
}

func twoPassCorrelation(_ x: [Double], _ y: [Double]) -> Double {
    let n = Double(x.count)
    let mx = x.reduce(0, +) / n, my = y.reduce(0, +) / n
    var sxy = 0.0, sxx = 0.0, syy = 0.0
    for (a, b) in zip(x, y) {
        sxy += (a - mx) * (b - my)
        sxx += (a - mx) * (a - mx)
        syy += (b - my) * (b - my)
    }
    return sxy / (sxx * syy).squareRoot()
}

/// Splits 0 ..< count into 1 … `maxPieces` contiguous pieces at random cut points.
func randomPieces(_ range: Range<Int>, maxPieces: Int, _ rng: inout TestRNG) -> [Range<Int>] {
    guard range.count > 1 else { return [range] }
    let pieces = 1 + rng.below(maxPieces)
    var cuts = Set<Int>()
    for _ in 1 ..< pieces { cuts.insert(range.lowerBound + 1 + rng.below(range.count - 1)) }
    let points = [range.lowerBound] + cuts.sorted() + [range.upperBound]
    return zip(points, points.dropFirst()).map { $0 ..< $1 }
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef")
    var s = ""
    for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
    return s
}

func bytes(hex: String) -> [UInt8] {
    let chars = Array(hex.filter { !$0.isWhitespace })
    return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(chars[$0 ... $0 + 1]), radix: 16)! }
}

/// Bitwise CRC-32 (IEEE), written independently of the module's table-driven one.
func referenceCRC32(_ data: ArraySlice<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in data {
        crc ^= UInt32(b)
        for _ in 0 ..< 8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return ~crc
}

/// Rewrites the trailing CRC-32 so a deliberately edited encoding passes the checksum.
func resealed(_ bytes: [UInt8]) -> [UInt8] {
    var b = bytes
    let crc = referenceCRC32(b[0 ..< b.count - 4])
    for i in 0 ..< 4 { b[b.count - 4 + i] = UInt8(truncatingIfNeeded: crc >> UInt32(8 * i)) }
    return b
}
