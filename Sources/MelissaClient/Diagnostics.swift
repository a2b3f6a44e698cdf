#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where the client library's warnings and (verbose) notes go.
public enum Diagnostics {
    /// Writes `melissa: <message>` and a newline to stderr with one write(2): unbuffered, so the
    /// line is out before an MPI_Abort, and whole, so lines of ranks sharing a pipe do not interleave.
    public static func standardError(_ message: String) {
        var line = "melissa: \(message)\n"
        line.withUTF8 { bytes in
            var rest = UnsafeRawBufferPointer(bytes)
            while let base = rest.baseAddress, !rest.isEmpty {
                let written = write(STDERR_FILENO, base, rest.count)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return }
                rest = UnsafeRawBufferPointer(rebasing: rest[written...])
            }
        }
    }
}
