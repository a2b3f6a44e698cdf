import MelissaProtocol

/// One registered field: where its values go and which time step comes next.
/// A class so `send` updates the step counter in place without re-storing into the dictionary.
final class FieldStream {
    let name: String
    /// Index in the study's field names; nil when the study does not know the field (sends ignored).
    let index: UInt32?
    let plan: RedistributionPlan
    /// The next time step to send (steps count from 0).
    var nextStep: UInt32 = 0
    /// Set once the "more steps than nb_time_steps" warning was printed.
    var warnedExtraSteps = false

    init(name: String, index: UInt32?, plan: RedistributionPlan) {
        self.name = name
        self.index = index
        self.plan = plan
    }
}
