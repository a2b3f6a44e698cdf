// melissa-server <config.json>: one rank of the study server, started by the launcher
// under mpirun. Environment: MELISSA_LAUNCHER_ADDRESS (required), MELISSA_STUDY_DIR.
import Foundation
import MelissaConfig
import MelissaFlavors
import MelissaServer
import MelissaTransport

func fail(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("melissa-server: error: \(message)\n".utf8))
    MPIRuntime.abort(code)
}

let usage = "usage: mpirun -n M melissa-server <config.json>  (normally started by melissa-launcher)\n"
let arguments = CommandLine.arguments
if arguments.count == 2, ["-h", "--help"].contains(arguments[1]) {
    print(usage, terminator: "")
    exit(0)
}
guard arguments.count == 2, !arguments[1].hasPrefix("-") else {
    FileHandle.standardError.write(Data(usage.utf8))
    exit(2)
}
// Before any thread exists: MPI's and libzmq's threads inherit the blocked mask, so SIGUSR1
// (checkpoint) and SIGTERM (checkpoint, stop) reach the loop's signalfd instead of killing the
// rank in a thread that does not block them (found by test_checkpoint_flood.py).
do {
    try SignalFD.block(ZMQServerTransport.handledSignals)
} catch {
    FileHandle.standardError.write(Data("melissa-server: error: cannot block signals: \(error)\n".utf8))
    exit(1)
}
// Received messages reuse heap pages instead of faulting each one in (docs/PERFORMANCE.md).
ReceiveBufferTuning.keepMessagePagesMapped()

/// Before MPI is initialised every rank reads the same config and fails the same way: exit.
func failBeforeMPI(_ message: String, code: Int32) -> Never {
    FileHandle.standardError.write(Data("melissa-server: error: \(message)\n".utf8))
    exit(code)
}

let environment = ProcessInfo.processInfo.environment
let config: StudyConfig
do {
    // load() resolves relative paths against the config file's directory.
    config = try StudyConfig.load(path: arguments[1], flavors: Flavors.registry)
} catch {
    failBeforeMPI("\(error)", code: 2)
}
guard let launcherAddress = environment["MELISSA_LAUNCHER_ADDRESS"], !launcherAddress.isEmpty else {
    failBeforeMPI("MELISSA_LAUNCHER_ADDRESS is not set; the server is started by melissa-launcher", code: 2)
}
let studyDirectory = environment["MELISSA_STUDY_DIR"] ?? config.outputDir
// Unreachable for a config loaded with the registry; kept so a mismatch cannot trap.
guard let flavor = Flavors.named(config.serverClass) else {
    failBeforeMPI("server_class '\(config.serverClass)' is not one of \(Flavors.registry.names)", code: 2)
}
// MPI with the thread support the flavor asks for (the statistics flavor: one thread).
do {
    _ = try MPIRuntime.initializeIfNeeded(threadLevel: flavor.mpiThreadLevel)
} catch {
    failBeforeMPI("cannot initialise MPI: \(error)", code: 1)
}
do {
    let server = try flavor.make(config, studyDirectory, launcherAddress)
    try server.run()
    let code = server.exitCode
    MPIRuntime.finalize()
    exit(code)
} catch {
    fail("\(error)", code: 1)
}
