import MelissaCheckpoint
print("checkpoint format \(CheckpointFormat.version)")
