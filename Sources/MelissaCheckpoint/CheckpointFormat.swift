/// Version of the checkpoint file format (docs/CHECKPOINT.md).
public enum CheckpointFormat {
    public static let version: UInt32 = 1
}
