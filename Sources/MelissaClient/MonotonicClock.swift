#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension MelissaClient {
    /// Seconds on the monotonic clock, for measuring waits (never wall time).
    static func monotonicSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
