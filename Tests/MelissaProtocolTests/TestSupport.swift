import XCTest
@testable import MelissaProtocol

/// Bytes from a hex literal written by hand; whitespace and `_` are ignored, and `//`
/// starts a comment that runs to the end of the line.
func hex(_ text: String, file: StaticString = #filePath, line: UInt = #line) -> [UInt8] {
    let code = text.split(separator: "\n", omittingEmptySubsequences: false).map { line in
        line.range(of: "//").map { line[..<$0.lowerBound] } ?? line
    }.joined()
    let digits = Array(code.filter { !$0.isWhitespace && $0 != "_" })
    guard digits.count % 2 == 0 else {
        XCTFail("odd number of hex digits", file: file, line: line)
        return []
    }
    var out: [UInt8] = []
    out.reserveCapacity(digits.count / 2)
    var i = 0
    while i < digits.count {
        guard let byte = UInt8(String(digits[i...(i + 1)]), radix: 16) else {
            XCTFail("bad hex digits '\(digits[i])\(digits[i + 1])'", file: file, line: line)
            return []
        }
        out.append(byte)
        i += 2
    }
    return out
}

/// Little-endian bytes of an integer, for building hostile messages in tests.
func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
    withUnsafeBytes(of: v.littleEndian) { Array($0) }
}

/// Calls `body` with a freshly allocated buffer holding exactly `bytes` (no spare capacity
/// behind it, so an over-read is a real out-of-bounds read under a sanitizer), starting
/// `misalign` bytes after a 16-byte boundary.
func withExactBuffer<R>(_ bytes: [UInt8], misalign: Int = 0, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count + misalign, alignment: 16)
    defer { storage.deallocate() }
    let window = UnsafeMutableRawBufferPointer(rebasing: storage[misalign...])
    window.copyBytes(from: bytes)
    return body(UnsafeRawBufferPointer(window))
}

/// Runs a decoder on `bytes` and captures its value or its error.
func decoding<T>(_ bytes: [UInt8], misalign: Int = 0,
                 with decode: (UnsafeRawBufferPointer) throws(ProtocolError) -> T) -> Result<T, ProtocolError> {
    withExactBuffer(bytes, misalign: misalign) { buffer in
        do throws(ProtocolError) {
            return .success(try decode(buffer))
        } catch {
            return .failure(error)
        }
    }
}

/// The error a decoder threw, or a test failure if it returned a value.
func decodeError<T>(_ bytes: [UInt8], with decode: (UnsafeRawBufferPointer) throws(ProtocolError) -> T,
                    file: StaticString = #filePath, line: UInt = #line) -> ProtocolError? {
    switch decoding(bytes, with: decode) {
    case .success(let value):
        XCTFail("expected an error, decoded \(value)", file: file, line: line)
        return nil
    case .failure(let error):
        return error
    }
}

/// Every decoder of protocol v1, by name, with its result reduced to success or error.
let allDecoders: [(name: String, run: @Sendable (UnsafeRawBufferPointer) throws(ProtocolError) -> Void)] = [
    ("HandshakeRequest", { buf throws(ProtocolError) in _ = try HandshakeRequest.decode(buf) }),
    ("HandshakeReply", { buf throws(ProtocolError) in _ = try HandshakeReply.decode(buf) }),
    ("DataHeader", { buf throws(ProtocolError) in _ = try DataHeader.decode(buf) }),
    ("ControlMessage", { buf throws(ProtocolError) in _ = try ControlMessage.decode(buf) }),
    ("InternalMessage", { buf throws(ProtocolError) in _ = try InternalMessage.decode(buf) }),
]

/// SplitMix64: a small deterministic generator so every run sees the same inputs.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
