import Foundation

/// Writes arrays in NumPy's `.npy` format (version 1.0): a documented, self-describing
/// layout that numpy, xarray and plain C readers all understand.
public enum NpyWriter {
    /// Writes `values` (C order, float64 little-endian) with `shape` to `path`.
    public static func write(_ values: [Double], shape: [Int], to path: String) throws {
        try write(bytes: values.withUnsafeBytes { Data($0) }, descr: "<f8", shape: shape, to: path)
    }

    /// Writes `values` as int64 little-endian with `shape` to `path`.
    public static func write(_ values: [Int64], shape: [Int], to path: String) throws {
        try write(bytes: values.withUnsafeBytes { Data($0) }, descr: "<i8", shape: shape, to: path)
    }

    static func header(descr: String, shape: [Int]) -> Data {
        let dims = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
        var dict = "{'descr': '\(descr)', 'fortran_order': False, 'shape': (\(dims)), }"
        // magic(6) + version(2) + header length(2) + dict + padding + "\n" is a multiple of 64.
        let unpadded = 10 + dict.utf8.count + 1
        dict += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = Data([0x93]) + Data("NUMPY".utf8) + Data([1, 0])
        let n = UInt16(dict.utf8.count)
        out.append(contentsOf: [UInt8(n & 0xFF), UInt8(n >> 8)])
        out.append(Data(dict.utf8))
        return out
    }

    static func write(bytes: Data, descr: String, shape: [Int], to path: String) throws {
        var data = header(descr: descr, shape: shape)
        data.append(bytes)
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
