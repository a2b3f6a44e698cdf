import MelissaProtocol

/// One valid message per message type, written by hand (the same bytes as in
/// GoldenBytesTests), with the decoder that must accept it.
struct Golden: Sendable {
    let name: String
    let bytes: [UInt8]
    let decode: @Sendable (UnsafeRawBufferPointer) throws(ProtocolError) -> Void
    /// The message name a decoder puts in `.truncated` / `.trailingBytes`.
    let messageName: String
}

private func request(_ buf: UnsafeRawBufferPointer) throws(ProtocolError) { _ = try HandshakeRequest.decode(buf) }
private func reply(_ buf: UnsafeRawBufferPointer) throws(ProtocolError) { _ = try HandshakeReply.decode(buf) }
private func data(_ buf: UnsafeRawBufferPointer) throws(ProtocolError) { _ = try DataHeader.decode(buf) }
private func control(_ buf: UnsafeRawBufferPointer) throws(ProtocolError) { _ = try ControlMessage.decode(buf) }
private func internalRank(_ buf: UnsafeRawBufferPointer) throws(ProtocolError) { _ = try InternalMessage.decode(buf) }

let goldens: [Golden] = [
    Golden(name: "HandshakeRequest", bytes: hex("4d4c5348 0300 0100 04030201 02000000"),
           decode: request, messageName: "handshake request"),
    Golden(name: "HandshakeReply", bytes: hex("""
        4d4c5348 0300 0200 02000000 64000000 02000000 02000000 01000000 02000000
        0100 54 0300 70c3a9 0900 7463703a2f2f683a31 0900 7463703a2f2f673a32
        """), decode: reply, messageName: "handshake reply"),
    Golden(name: "HandshakeRefusal", bytes: hex("4d4c5348 0300 0300 0400 62757379"),
           decode: reply, messageName: "handshake reply"),
    Golden(name: "DataHeader", bytes: hex("""
        4d4c5344 0100 0100 05000000 03000000 01000000 02000000
        0a00000000000000 0400000000000000 0200000000000000
        000000000000f03f 00000000000004c0
        """), decode: data, messageName: "data message"),
    Golden(name: "Control.hello", bytes: hex("4d4c5343 0300 0100 03000000 0900 7463703a2f2f733a39 0807060504030201"),
           decode: control, messageName: "control message"),
    Golden(name: "Control.welcome", bytes: hex("4d4c5343 0300 0200 0807060504030201"),
           decode: control, messageName: "control message"),
    Golden(name: "Control.jobRequest", bytes: hex("""
        4d4c5343 0300 0300 0807060504030201 0500000000000000 10000000 02000000 01000000 0500 2f612e7368 00010000 0200 2f62
        """), decode: control, messageName: "control message"),
    Golden(name: "Control.jobState", bytes: hex("4d4c5343 0300 0400 10000000 03 f7ffffff 0300 6f6f6d"),
           decode: control, messageName: "control message"),
    Golden(name: "Control.ping", bytes: hex("4d4c5343 0300 0500"),
           decode: control, messageName: "control message"),
    Golden(name: "Control.progress", bytes: hex("""
        4d4c5343 0300 0600 01000000 02000000 2c010000 0200000001000000
        """), decode: control, messageName: "control message"),
    Golden(name: "Control.stop", bytes: hex("4d4c5343 0300 0700 0600 534947494e54"),
           decode: control, messageName: "control message"),
    Golden(name: "Control.studyEnd", bytes: hex("4d4c5343 0300 0800 01000000 07000000 02000000 0200 6f6b"),
           decode: control, messageName: "control message"),
    Golden(name: "Control.cancelJob", bytes: hex("""
        4d4c5343 0300 0900 0807060504030201 0900000000000000 03000000 0400 69646c65
        """), decode: control, messageName: "control message"),
    Golden(name: "Control.requestDone", bytes: hex("""
        4d4c5343 0300 0a00 0807060504030201 0500000000000000 01 0700 72756e6e696e67
        """), decode: control, messageName: "control message"),
    Golden(name: "Control.pong", bytes: hex("4d4c5343 0300 0b00"),
           decode: control, messageName: "control message"),
    Golden(name: "Internal.simulationComplete", bytes: hex("4d4c5349 0300 0100 03000000 09000000"),
           decode: internalRank, messageName: "internal message"),
    Golden(name: "Internal.simulationAbandoned", bytes: hex("4d4c5349 0300 0200 00010000"),
           decode: internalRank, messageName: "internal message"),
    Golden(name: "Internal.stop", bytes: hex("4d4c5349 0300 0300"),
           decode: internalRank, messageName: "internal message"),
    Golden(name: "Internal.holdingsQuery", bytes: hex("4d4c5349 0300 0800 05000000 02000000 02000000 02010000"),
           decode: internalRank, messageName: "internal message"),
    Golden(name: "Internal.groupRedrawn",
           bytes: hex("4d4c5349 0300 0600 07000000 02000000 02000000 1c000000 02010000"),
           decode: internalRank, messageName: "internal message"),
    Golden(name: "Internal.checkpointWritten", bytes: hex("4d4c5349 0300 0a00 03000000 05040302 01000000 01"),
           decode: internalRank, messageName: "internal message"),
    Golden(name: "Internal.holdingsReport", bytes: hex("""
        4d4c5349 0300 0900 01000000 05000000 02000000 02000000 00000000 09000000 04030000
        """), decode: internalRank, messageName: "internal message"),
]
