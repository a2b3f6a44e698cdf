/// One training sample: a whole time step of one simulation (every field, concatenated in field order) with the simulation's input parameters.
public struct Sample: Sendable, Equatable {
    /// The simulation (client) id that produced it.
    public var simulation: UInt32
    /// Its time step within that simulation.
    public var timeStep: UInt32
    /// The simulation's input parameters (the surrogate's inputs, with the time step).
    public var parameters: [Double]
    /// The fields' values at this step, field after field (the surrogate's target).
    public var values: [Double]

    /// A sample from its parts.
    public init(simulation: UInt32, timeStep: UInt32, parameters: [Double], values: [Double]) {
        self.simulation = simulation
        self.timeStep = timeStep
        self.parameters = parameters
        self.values = values
    }

    /// Bytes of payload it keeps alive (8 per double): what `SampleBuffer.heldBytes` adds up.
    public var byteCount: Int { 8 * (parameters.count + values.count) }
}
