/// The fixed 48-byte header in front of every data message's float64 values.
///
/// Layout (little-endian): magic "MLSD", u16 version, u16 kind (1), u32 simulation id,
/// u32 time step, u32 field index, u32 client rank, u64 global field size,
/// u64 offset in the global field, u64 count; then `count` float64 values.
public struct DataHeader: Equatable, Sendable {
    public static let kind: UInt16 = 1
    /// Bytes before the first value; a multiple of 8 so values stay aligned.
    public static let size = 48

    public var simulationID: UInt32
    public var timeStep: UInt32
    /// Index of the field in the handshake's field list.
    public var field: UInt32
    public var clientRank: UInt32
    /// Size of the whole field (all client ranks), so each server rank derives its block.
    public var globalSize: UInt64
    /// Global index of the first value.
    public var offset: UInt64
    /// Number of float64 values after the header.
    public var count: UInt64

    public init(simulationID: UInt32, timeStep: UInt32, field: UInt32, clientRank: UInt32,
                globalSize: UInt64, offset: UInt64, count: UInt64) {
        self.simulationID = simulationID
        self.timeStep = timeStep
        self.field = field
        self.clientRank = clientRank
        self.globalSize = globalSize
        self.offset = offset
        self.count = count
    }

    /// Writes the header into the first 48 bytes of `destination`, in place: this runs once
    /// per message on the client's send path, so it allocates nothing.
    public func write(to destination: UnsafeMutableRawPointer) {
        let d = destination
        d.storeBytes(of: 0x4453_4C4D as UInt32, toByteOffset: 0, as: UInt32.self)  // "MLSD" little-endian
        d.storeBytes(of: protocolVersion.littleEndian, toByteOffset: 4, as: UInt16.self)
        d.storeBytes(of: Self.kind.littleEndian, toByteOffset: 6, as: UInt16.self)
        d.storeBytes(of: simulationID.littleEndian, toByteOffset: 8, as: UInt32.self)
        d.storeBytes(of: timeStep.littleEndian, toByteOffset: 12, as: UInt32.self)
        d.storeBytes(of: field.littleEndian, toByteOffset: 16, as: UInt32.self)
        d.storeBytes(of: clientRank.littleEndian, toByteOffset: 20, as: UInt32.self)
        d.storeBytes(of: globalSize.littleEndian, toByteOffset: 24, as: UInt64.self)
        d.storeBytes(of: offset.littleEndian, toByteOffset: 32, as: UInt64.self)
        d.storeBytes(of: count.littleEndian, toByteOffset: 40, as: UInt64.self)
    }

    /// The header and values as one buffer (tests and small senders).
    public func encode(values: [Double]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.size + values.count * 8)
        out.withUnsafeMutableBytes { buf in
            write(to: buf.baseAddress!)
            for (i, v) in values.enumerated() {
                buf.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: Self.size + 8 * i, as: UInt64.self)
            }
        }
        return out
    }

    /// Decodes and checks a whole data message: header sane, payload exactly `count` values,
    /// the slice inside the global field.
    public static func decode(_ buffer: UnsafeRawBufferPointer) throws(ProtocolError) -> DataHeader {
        var r = ByteReader(buffer, message: "data message")
        let kind = try r.header(magic: .data)
        guard kind == Self.kind else { throw .unknownKind(channel: "data", kind: kind) }
        let h = DataHeader(simulationID: try r.u32(), timeStep: try r.u32(), field: try r.u32(),
                           clientRank: try r.u32(), globalSize: try r.u64(), offset: try r.u64(),
                           count: try r.u64())
        guard h.count <= Limits.maxValuesPerMessage else {
            throw .oversized(what: "value count", value: h.count, limit: Limits.maxValuesPerMessage)
        }
        let payload = UInt64(r.remaining)
        guard payload == h.count * 8 else {
            if payload < h.count * 8 {
                throw .truncated(message: "data message", needed: size + Int(h.count) * 8, available: buffer.count)
            }
            throw .trailingBytes(message: "data message", count: Int(payload - h.count * 8))
        }
        guard h.offset <= h.globalSize, h.count <= h.globalSize - h.offset else {
            throw .invalidValue(what: "slice",
                                detail: "offset \(h.offset) + count \(h.count) exceeds global size \(h.globalSize)")
        }
        return h
    }
}
