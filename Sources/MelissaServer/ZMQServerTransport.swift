import Glibc
import MelissaConfig
import MelissaTransport

/// The real transport of a server rank: CURVE (or PLAIN for data) ZeroMQ sockets that admit
/// only the study's keys (docs/SECURITY.md), and SIGTERM/SIGINT/SIGUSR1 through a signalfd.
public final class ZMQServerTransport: ServerTransport {
    /// The signals a server rank handles in its loop (checkpoint on SIGUSR1; checkpoint and
    /// stop on SIGTERM and SIGINT). `melissa-server` blocks them before MPI starts its threads.
    public static let handledSignals: [Int32] = [SIGTERM, SIGINT, SIGUSR1]

    public let dataEndpoint: String
    public let internalEndpoint: String

    let context: ZMQContext
    /// This study's server key pair: every socket the server binds is a CURVE server with it.
    let serverKeys: CurveKeyPair
    /// Admits only the study's client and server keys on this process's sockets (ZAP).
    let zap: ZAPHandler
    let dataSocket: ZMQSocket
    let internalPull: ZMQSocket
    let signals: SignalFD
    let dataMessage = ZMQMessage()
    let studyDirectory: String
    let launcherAddress: String
    let config: StudyConfig
    let host: String
    var internalPushes: [Int: ZMQSocket] = [:]
    var handshakeSocket: ZMQSocket?
    var launcherSocket: ZMQSocket?
    var poller = ZMQPoller()
    /// Poll slots of each channel (the handshake and launcher sockets exist on rank 0 only).
    var slots: [(index: Int, event: ServerEvents)] = []

    /// Binds this rank's data socket (`data_port + rank`, or the next free port) and internal
    /// socket, and blocks SIGTERM/SIGINT/SIGUSR1 into a signalfd. Reads the study's keys.
    public init(config: StudyConfig, studyDirectory: String, launcherAddress: String, rank: Int,
                log: ServerLog) throws {
        self.config = config
        self.studyDirectory = studyDirectory
        self.launcherAddress = launcherAddress
        signals = try SignalFD(signals: Self.handledSignals)
        host = config.serverConfig.advertisedHost ?? HostName.current()
        let bindAddress = config.serverConfig.bindAddress
        context = try ZMQContext()
        // Clients hold the client key, server ranks the server key; nobody else gets in, and
        // each socket admits only its own channel's peers (docs/SECURITY.md).
        let clientKey: String
        var dataPassword: String?
        do {
            serverKeys = try StudyKeys.load(.server, in: studyDirectory)
            clientKey = try StudyKeys.load(.client, in: studyDirectory).publicKey
            if !config.serverConfig.dataEncryption { dataPassword = try StudyKeys.loadDataPassword(in: studyDirectory) }
        } catch {
            throw ServerError.setup("cannot read the study's keys: \(error)")
        }
        zap = try ZAPHandler(context: context, policies: [
            .handshake: ZAPPolicy(curveKeys: [clientKey]),
            .data: ZAPPolicy(curveKeys: [clientKey], plainPassword: dataPassword),
            .internal: ZAPPolicy(curveKeys: [serverKeys.publicKey]),
        ])
        dataSocket = try context.socket(.pull)
        // data_encryption off: PLAIN (password checked, payload in clear), CURVE otherwise.
        if dataPassword == nil {
            try dataSocket.becomeCurveServer(serverKeys, domain: .data)
        } else {
            try dataSocket.becomePlainServer(domain: .data)
        }
        let options = config.studyOptions
        if options.zmqHWM > 0 { try dataSocket.setHighWaterMarks(receive: Int32(options.zmqHWM)) }
        // libzmq's listen backlog is 100: thousands of client ranks connecting at once overflow
        // it, and the kernel's dropped attempts retry 1, 3, 7, 15 s later (docs/PERFORMANCE.md,
        // "Connection budget"). The kernel caps it at net.core.somaxconn.
        try dataSocket.setListenBacklog(Self.listenBacklog)
        // Ranks on one node would all want data_port: each starts at data_port + rank and
        // binding is the test, so two servers on a node never race for a port.
        let dataPort = try dataSocket.bindFirstFree(address: bindAddress, port: config.serverConfig.dataPort + rank)
        dataEndpoint = "tcp://\(host):\(dataPort)"
        internalPull = try context.socket(.pull)
        try internalPull.becomeCurveServer(serverKeys, domain: .internal)
        let internalBound = try internalPull.bind("tcp://\(bindAddress):*")
        internalEndpoint = "tcp://\(host):\(internalBound.split(separator: ":").last ?? "0")"
        let mechanism = dataPassword == nil ? "CURVE" : "PLAIN"
        if dataPassword != nil && rank == 0 {
            log.event("data sockets use PLAIN (server_config.data_encryption is false): clients authenticate with the study's data password and data travels unencrypted")
        }
        log.log(.info, "rank \(rank) data socket \(dataEndpoint) (\(mechanism)), internal \(internalEndpoint)")
        slots.append((poller.add(fileDescriptor: signals.fileDescriptor), .signal))
        slots.append((poller.add(internalPull), .internalMessage))
        slots.append((poller.add(dataSocket), .data))
    }

    public func connectInternal(endpoints: [String], rank: Int) throws {
        let targets = rank == 0 ? Array(endpoints.enumerated()).filter { $0.offset != 0 } : [(0, endpoints[0])]
        for (r, endpoint) in targets {
            let push = try context.socket(.push)
            try push.setTimeouts(linger: rank == 0 ? 1000 : 5000)
            try push.becomeCurveClient(serverKeys, serverPublicKey: serverKeys.publicKey)
            try push.connect(endpoint)
            internalPushes[r] = push
        }
    }

    public func bindHandshake() throws -> String {
        let server = config.serverConfig
        let rep = try context.socket(.rep)
        try rep.setTimeouts(send: 1000, linger: 0)
        try rep.setListenBacklog(Self.listenBacklog)
        try rep.becomeCurveServer(serverKeys, domain: .handshake)
        let port = try rep.bindFirstFree(address: server.bindAddress, port: server.connectionPort)
        handshakeSocket = rep
        slots.append((poller.add(rep), .handshake))
        return "tcp://\(host):\(port)"
    }

    public func connectLauncher(hello: [UInt8], timeout: Double) throws -> [[UInt8]] {
        let dealer = try context.socket(.dealer)
        try dealer.setTimeouts(send: 5000, linger: 2000)
        // The launcher admits only the study's server key (CURVE, docs/SECURITY.md).
        let launcherKey: String
        do {
            launcherKey = try StudyKeys.load(.launcher, in: studyDirectory).publicKey
        } catch {
            throw ServerError.setup("cannot read the study's keys: \(error)")
        }
        try dealer.becomeCurveClient(serverKeys, serverPublicKey: launcherKey)
        try dealer.connect(launcherAddress)
        launcherSocket = dealer
        try dealer.send(hello)
        try dealer.setTimeouts(receive: Int32(timeout * 1000))
        let reply: [[UInt8]]
        do { reply = try dealer.receiveMultipart() } catch {
            throw ServerError.launcher("no welcome from the launcher at \(launcherAddress): \(error)")
        }
        try dealer.setTimeouts(receive: 0)
        slots.append((poller.add(dealer), .launcher))
        return reply
    }

    public func poll(timeoutMilliseconds: Int) throws -> ServerEvents {
        let ready = try poller.poll(timeoutMilliseconds: timeoutMilliseconds)
        var events: ServerEvents = []
        for slot in slots where slot.index < ready.count && ready[slot.index] { events.insert(slot.event) }
        return events
    }

    public func nextSignal() -> Int32? { signals.next() }

    public func receiveData() throws -> Bool {
        do {
            try dataSocket.receive(into: dataMessage, dontWait: true)
            return true
        } catch {
            if error.isTimeout { return false }
            throw error
        }
    }

    public func withCurrentData<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try dataMessage.withBytes(body)
    }

    public var currentDataHasMore: Bool { dataMessage.hasMore }

    public var currentDataPeer: String? { dataMessage.property("Peer-Address") }

    public func discardRemainingDataFrames() throws {
        while dataMessage.hasMore { try dataSocket.receive(into: dataMessage) }
    }

    public func receive(_ channel: ControlChannel) throws -> [[UInt8]]? {
        let socket: ZMQSocket?
        switch channel {
        case .internalMessages: socket = internalPull
        case .handshake: socket = handshakeSocket
        case .launcher: socket = launcherSocket
        }
        return try socket?.receiveMultipartIfReady()
    }

    public func sendInternal(_ frame: [UInt8], to rank: Int) throws {
        guard let push = internalPushes[rank] else {
            throw ServerError.invariant("no internal connection to rank \(rank)")
        }
        try push.send(frame)
    }

    public func replyHandshake(_ frame: [UInt8]) throws {
        try handshakeSocket?.send(frame)
    }

    public func sendLauncher(_ frame: [UInt8]) throws {
        try launcherSocket?.send(frame)
    }

    public func closeLauncher() { launcherSocket?.close() }

    /// Pending connections each listening socket keeps (libzmq's default is 100).
    static let listenBacklog: Int32 = 4096

    public func shutdown() {
        dataSocket.close()
        internalPull.close()
        for push in internalPushes.values { push.close() }
        handshakeSocket?.close()
        launcherSocket?.close()
        zap.stop()
        // Found by the connection benchmark: with thousands of client connections closing, the
        // final studyEnd could still sit in libzmq's queue when the process exited.
        context.terminate()
    }

    public var refusals: (count: Int, last: String) { zap.refusals }
}
