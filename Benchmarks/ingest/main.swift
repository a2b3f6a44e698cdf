// Ingest benchmark processes (Benchmarks/ingest/run.sh drives them):
//
//   melissa-bench-ingest raw-pull --bind ENDPOINT --messages N     (prints "ready <bound endpoint>")
//   melissa-bench-ingest raw-push --connect ENDPOINT[,ENDPOINT...] --messages N --size BYTES
//       the ceiling: libzmq PUSH -> PULL called directly, nothing but zmq_send/zmq_msg_recv
//       (with several endpoints, one PUSH socket each, sent to in turn).
//       raw-pull prints one JSON line: messages, bytes, seconds from the first message to the last.
//   melissa-bench-ingest client --fields F --values K --steps T [--start-at UNIX_SECONDS]
//       a synthetic simulation on the real client library (MelissaClient, under mpirun like any
//       client; MELISSA_SIMU_ID and MELISSA_SERVER_ADDRESS from the environment): registers fields
//       f0..f(F-1) of K float64 values per rank and sends T steps of each, as fast as it can.
//       The values are `baseValue` and `markerValue` below, so the receiver's statistics can be
//       checked exactly (run.py's expected_statistics).
#if canImport(Glibc)
import Glibc
#endif
import CZMQ
import Foundation
import MelissaClient
import MelissaTransport

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("melissa-bench-ingest: \(message)\n".utf8))
    exit(1)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// The value simulation `sim` sends for `field` at global index `index` and `step`: a base
/// pattern, plus one marker cell per step (index step % globalSize), so a step or a simulation
/// that lands in the wrong place changes the statistics. Every value is a small dyadic
/// fraction: sums over thousands of simulations are exact. run.py has the same formula.
@inline(__always)
func baseValue(sim: Int, field: Int, index: Int) -> Double {
    Double(sim % 7) + Double(field) * 0.25 + Double(index % 13) * 0.125
}

@inline(__always)
func markerValue(sim: Int, step: Int) -> Double { Double(sim) * 2 + Double(step % 5) }

struct Options {
    var values: [String: String] = [:]
    init(_ args: ArraySlice<String>) {
        var rest = args
        while let key = rest.popFirst() {
            // The launcher's client scripts append the sampled parameters: positional, ignored.
            guard key.hasPrefix("--") else { continue }
            guard let value = rest.popFirst() else { fail("--\(key.dropFirst(2)) needs a value") }
            values[String(key.dropFirst(2))] = value
        }
    }
    func int(_ key: String) -> Int {
        guard let raw = values[key] else { fail("missing --\(key)") }
        guard let v = Int(raw), v > 0 else { fail("--\(key) must be a positive integer, got '\(raw)'") }
        return v
    }
    func string(_ key: String) -> String {
        guard let v = values[key] else { fail("missing --\(key)") }
        return v
    }
}

/// User + system CPU seconds of this process (all threads).
func processCPU() -> Double {
    var usage = rusage()
    guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec)
        + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6
}

func check(_ rc: Int32, _ what: String) {
    if rc != 0 { fail("\(what): \(String(cString: zmq_strerror(zmq_errno())))") }
}

func rawPull(_ o: Options) {
    let count = o.int("messages")
    guard let context = zmq_ctx_new(), let socket = zmq_socket(context, ZMQ_PULL) else { fail("zmq_socket failed") }
    var timeout: Int32 = 60_000 // a lost pusher fails the run instead of hanging it
    check(zmq_setsockopt(socket, ZMQ_RCVTIMEO, &timeout, MemoryLayout<Int32>.size), "ZMQ_RCVTIMEO")
    check(zmq_bind(socket, o.string("bind")), "zmq_bind \(o.string("bind"))")
    // The bound endpoint, so `--bind tcp://127.0.0.1:*` (a free port, no collision) works.
    var endpoint = [CChar](repeating: 0, count: 256)
    var length = endpoint.count
    check(zmq_getsockopt(socket, ZMQ_LAST_ENDPOINT, &endpoint, &length), "ZMQ_LAST_ENDPOINT")
    print("ready \(String(decoding: endpoint.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self))")
    fflush(nil)
    var message = zmq_msg_t()
    zmq_msg_init(&message)
    var bytes = 0
    var first = 0.0, cpuFirst = 0.0, bytesFirst = 0
    for i in 0..<count {
        let n = zmq_msg_recv(&message, socket, 0)
        if n < 0 { fail("zmq_msg_recv after \(i) of \(count) messages: \(String(cString: zmq_strerror(zmq_errno())))") }
        bytes += Int(n)
        if i == 0 { first = now(); cpuFirst = processCPU(); bytesFirst = bytes }
    }
    let seconds = now() - first
    let cpu = processCPU() - cpuFirst
    zmq_msg_close(&message)
    zmq_close(socket)
    zmq_ctx_term(context)
    // CPU from the first message on, as the servers measure theirs (summary.json's ingest).
    print("{\"messages\": \(count), \"bytes\": \(bytes), \"seconds\": \(seconds), "
          + "\"cpu_seconds\": \(cpu), \"cpu_bytes\": \(bytes - bytesFirst)}")
}

func rawPush(_ o: Options) {
    let count = o.int("messages"), size = o.int("size")
    // Several endpoints (comma-separated): one PUSH socket each, sent to in turn, as a client
    // rank sends one piece per server rank each step.
    let endpoints = o.string("connect").split(separator: ",").map(String.init)
    guard let context = zmq_ctx_new() else { fail("zmq_ctx_new failed") }
    var sockets: [UnsafeMutableRawPointer] = []
    for endpoint in endpoints {
        guard let socket = zmq_socket(context, ZMQ_PUSH) else { fail("zmq_socket failed") }
        var linger: Int32 = -1
        check(zmq_setsockopt(socket, ZMQ_LINGER, &linger, MemoryLayout<Int32>.size), "ZMQ_LINGER")
        check(zmq_connect(socket, endpoint), "zmq_connect \(endpoint)")
        sockets.append(socket)
    }
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
    defer { buffer.deallocate() }
    for i in 0..<size { buffer[i] = UInt8(truncatingIfNeeded: i) }
    for i in 0..<count {
        if zmq_send(sockets[i % sockets.count], buffer.baseAddress, size, 0) != Int32(size) {
            fail("zmq_send: \(String(cString: zmq_strerror(zmq_errno())))")
        }
    }
    for socket in sockets { zmq_close(socket) }
    zmq_ctx_term(context) // waits for the queues to drain (linger -1)
}

func client(_ o: Options) {
    let fieldCount = o.int("fields"), localSize = o.int("values"), steps = o.int("steps")
    do {
        _ = try MPIRuntime.initializeIfNeeded()
        let client = try MelissaClient(communicator: .world)
        let sim = Int(client.settings.simulationID)
        let names = (0..<fieldCount).map { "f\($0)" } // built once: the loop below times sends only
        for name in names { try client.register(field: name, localSize: localSize) }
        guard let plan = client.plan(of: "f0") else { fail("field f0 has no plan") }
        let offset = Int(plan.localOffset), globalSize = Int(plan.globalSize)
        var buffers = (0..<fieldCount).map { f in (0..<localSize).map { baseValue(sim: sim, field: f, index: offset + $0) } }
        // --start-at: connected clients wait for a common wall-clock time, so every client of a
        // run streams at once and process start-up (mpirun, the launcher's pacing) is outside
        // what the receiver measures, on both servers alike.
        if let raw = o.values["start-at"] {
            guard let startAt = Double(raw) else { fail("--start-at must be seconds since the epoch, got '\(raw)'") }
            let wait = startAt - Date().timeIntervalSince1970
            if wait > 0 { usleep(UInt32(min(wait, 600) * 1e6)) }
        }
        let start = now()
        for step in 0..<steps {
            let marker = step % globalSize - offset
            for f in 0..<fieldCount {
                // One cell changes per step: the rest of the buffer is sent as it is, so the
                // client costs what the library costs, not what filling K values costs.
                let hasMarker = marker >= 0 && marker < localSize
                if hasMarker { buffers[f][marker] = markerValue(sim: sim, step: step) }
                try buffers[f].withUnsafeBufferPointer { try client.send(field: names[f], values: $0) }
                if hasMarker { buffers[f][marker] = baseValue(sim: sim, field: f, index: offset + marker) }
            }
        }
        let sent = now()
        try client.finalize()
        let done = now()
        if client.rank == 0 {
            print("{\"simulation\": \(sim), \"send_seconds\": \(sent - start), \"finalize_seconds\": \(done - sent)}")
        }
        MPIRuntime.finalize()
    } catch {
        fail("client: \(error)")
    }
}

var arguments = CommandLine.arguments.dropFirst()
switch arguments.popFirst() {
case "raw-pull": rawPull(Options(arguments))
case "raw-push": rawPush(Options(arguments))
case "client": client(Options(arguments))
default:
    FileHandle.standardError.write(Data("usage: melissa-bench-ingest raw-pull|raw-push|client --option value ... (see Benchmarks/ingest/run.sh)\n".utf8))
    exit(2)
}
