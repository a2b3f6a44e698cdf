/// Default values of optional keys, shared by the parser and the public initializers.
@usableFromInline
enum ConfigDefaults {
    @usableFromInline static let serverClass = ServerClass.sensitivityAnalysis
    @usableFromInline static let seed = 0
    @usableFromInline static let simulationTimeout = 400.0
    @usableFromInline static let crashesBeforeRedraw = 1
    @usableFromInline static let studyVerbosity = 1
    @usableFromInline static let groupSize = 1
    @usableFromInline static let zmqHWM = 0
    @usableFromInline static let mean = true
    @usableFromInline static let variance = true
    @usableFromInline static let jobLimit = 2
    @usableFromInline static let timerDelay = 1.0
    @usableFromInline static let faultTolerance = false
    @usableFromInline static let launcherPort = 5555
    @usableFromInline static let serverTimeout = 60.0
    @usableFromInline static let stdOutput = true
    @usableFromInline static let launcherVerbosity = 1
    @usableFromInline static let connectionPort = 2003
    @usableFromInline static let dataPort = 5000
    @usableFromInline static let bindAddress = "*"

    /// Upper bound for every duration in seconds (about 11.5 days), so it fits in Int32 milliseconds.
    @usableFromInline static let maximumSeconds = 1_000_000.0
    /// Largest `nb_time_steps` accepted.
    @usableFromInline static let maximumTimeSteps = 10_000_000
    /// Longest field name, in UTF-8 bytes.
    @usableFromInline static let maximumFieldNameBytes = 255
}
