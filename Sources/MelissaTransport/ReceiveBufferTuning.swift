import CLinux

/// glibc settings for a process that receives large ZeroMQ messages in a loop.
public enum ReceiveBufferTuning {
    /// libzmq allocates every received message and the poll loop frees it one receive later.
    /// With glibc's defaults a 1 MiB message is an `mmap` and a `munmap`, and freed heap memory
    /// is trimmed, so every message's pages fault in afresh (about 256 page faults per MiB).
    /// Keeping allocations below 64 MiB on the heap and trimming only beyond 256 MiB free lets
    /// the same pages serve message after message. Call once, before the first socket.
    public static func keepMessagePagesMapped() {
        _ = mallopt(M_MMAP_THRESHOLD, 64 << 20)
        _ = mallopt(M_TRIM_THRESHOLD, 256 << 20)
    }
}
