// Checkpoint benchmark: writes and loads a checkpoint of N MiB (8 sections of float64
// state) with CheckpointStore, and in the same run writes and reads the same number of bytes
// with plain write()/fsync()/read() calls: the ceiling. Prints MB/s of both and the ratios.
//
//   melissa-bench-checkpoint [--mib N] [--repeat R] [--dir DIR]
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import MelissaCheckpoint

var mib = 512, repeats = 3, dir = "/tmp/melissa-bench-checkpoint"
var args = CommandLine.arguments.dropFirst()
while let a = args.popFirst() {
    switch a {
    case "--mib": mib = Int(args.popFirst() ?? "") ?? mib
    case "--repeat": repeats = Int(args.popFirst() ?? "") ?? repeats
    case "--dir": dir = args.popFirst() ?? dir
    default:
        print("usage: melissa-bench-checkpoint [--mib N] [--repeat R] [--dir DIR]")
        exit(2)
    }
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// Drops the file's pages from the page cache, so a read comes from the device.
func dropCache(_ path: String) {
    let fd = open(path, O_RDONLY)
    if fd >= 0 { _ = posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED); close(fd) }
}

mkdir(dir, 0o700)
let sectionCount = 8
let perSection = mib * 1_048_576 / sectionCount / 8
var sections: [CheckpointSection] = []
var x: UInt64 = 0x9E37_79B9_7F4A_7C15
for k in 0..<sectionCount {
    var values = [Double](repeating: 0, count: perSection)
    for i in values.indices { x = x &* 6364136223846793005 &+ 1442695040888963407; values[i] = Double(x >> 11) * 0x1p-53 }
    var w = CheckpointEncoder(capacity: perSection * 8 + 16)
    w.f64Array(values)
    sections.append(CheckpointSection(tag: "S\(k)00".prefix(4).description, bytes: w.bytes))
}
let total = sections.reduce(0) { $0 + $1.bytes.count }
let store = CheckpointStore(directory: dir, rank: 0)
let plainPath = dir + "/plain.bin"
var best = (plainWrite: 0.0, oursWrite: 0.0, plainRead: 0.0, oursRead: 0.0)

for _ in 0..<repeats {
    // Plain: the same bytes, one write() per section, fsync, close.
    var t = now()
    let fd = open(plainPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    for s in sections { _ = s.bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
    fsync(fd)
    close(fd)
    best.plainWrite = max(best.plainWrite, Double(total) / (now() - t))

    t = now()
    do {
        try store.write(header: CheckpointHeader(fingerprint: 1, rank: 0, commSize: 1, sequence: 1, unixTime: 0),
                        sections: sections)
    } catch { print("write failed: \(error)"); exit(1) }
    best.oursWrite = max(best.oursWrite, Double(total) / (now() - t))

    dropCache(plainPath)
    t = now()
    let rfd = open(plainPath, O_RDONLY)
    var buffer = [UInt8](repeating: 0, count: total)
    var done = 0
    while done < total {
        let n = buffer.withUnsafeMutableBytes { read(rfd, $0.baseAddress! + done, total - done) }
        if n <= 0 { break }
        done += n
    }
    close(rfd)
    best.plainRead = max(best.plainRead, Double(total) / (now() - t))

    dropCache(store.currentPath)
    t = now()
    var loaded: LoadedCheckpoint?
    do {
        loaded = try store.load(expectingFingerprint: 1, rank: 0, commSize: 1)
    } catch { print("load failed: \(error)"); exit(1) }
    best.oursRead = max(best.oursRead, Double(total) / (now() - t))
    guard loaded?.sections == sections else { print("loaded checkpoint differs from what was written"); exit(1) }
}
var crcRate = 0.0
for s in sections {
    let t = now()
    _ = CRC32.checksum(s.bytes)
    crcRate = max(crcRate, Double(s.bytes.count) / (now() - t))
}
unlink(plainPath)
unlink(store.currentPath)
unlink(store.previousPath)

func mbps(_ v: Double) -> String { String(format: "%8.0f MB/s", v / 1e6) }
print("checkpoint of \(total / 1_048_576) MiB in \(sectionCount) sections, best of \(repeats), files in \(dir) (page cache dropped before reads)")
print("write: plain \(mbps(best.plainWrite))  ours \(mbps(best.oursWrite))  ratio \(String(format: "%.2f", best.oursWrite / best.plainWrite))")
print("CRC-32 alone: \(mbps(crcRate))")
print("load:  plain \(mbps(best.plainRead))  ours \(mbps(best.oursRead))  ratio \(String(format: "%.2f", best.oursRead / best.plainRead)) (ours verifies every checksum)")
