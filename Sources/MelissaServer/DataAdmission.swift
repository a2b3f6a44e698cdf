import MelissaProtocol

/// Decides whether one decoded data header may reach the flavor on this rank, without sockets,
/// MPI or the completion tracker: the simulation, field and time step exist in the study, the
/// field's size agrees with what this rank already knows (or with `study_options.field_sizes`),
/// and the piece lies inside this rank's block (and, under whole-step routing, its step is routed here). Pure and deterministic, so the rules are
/// unit-tested apart from the poll loop; the tracker (exactly-once) is asked afterwards.
struct DataAdmission {
    /// Why a header is refused; each reason is one of summary.json's drop counters.
    enum Refusal: Equatable {
        /// `simulation_id` is not below the study's simulation count.
        case unknownSimulation
        /// The field index is not below the number of `field_names`.
        case unknownField
        /// The time step is not below `nb_time_steps`.
        case outOfRangeStep
        /// The field's global size differs from the first accepted one on this rank.
        case inconsistentSize(known: UInt64)
        /// The field's global size differs from `study_options.field_sizes`.
        case sizeNotInConfig(configured: UInt64)
        /// The values are not (all) inside this rank's block of the field.
        case misrouted
    }

    /// The verdict: the field's layout on this rank (and whether it is learned from this header),
    /// or why the header is refused.
    enum Verdict: Equatable {
        case admit(FieldLayout, learnsLayout: Bool)
        case refuse(Refusal)
    }

    let simulationCount: Int
    let nbTimeSteps: Int
    /// `study_options.field_sizes`, when given.
    let fieldSizes: [Int]?
    /// Number of server ranks and this one, for the block partition.
    let serverCount: Int
    let rank: Int
    /// How clients split the data (cell blocks, or whole steps to one rank).
    var routing: DataRouting = .cellBlocks

    /// The verdict for `header`, given the layouts this rank already knows (index = field).
    func check(_ header: DataHeader, known layouts: [FieldLayout?]) -> Verdict {
        guard Int(header.simulationID) < simulationCount else { return .refuse(.unknownSimulation) }
        let field = Int(header.field)
        guard field < layouts.count else { return .refuse(.unknownField) }
        guard Int(header.timeStep) < nbTimeSteps else { return .refuse(.outOfRangeStep) }
        let known = layouts[field]
        if let known, known.globalSize != header.globalSize { return .refuse(.inconsistentSize(known: known.globalSize)) }
        if let sizes = fieldSizes, UInt64(sizes[field]) != header.globalSize {
            return .refuse(.sizeNotInConfig(configured: UInt64(sizes[field])))
        }
        guard routing.delivers(simulation: header.simulationID, step: header.timeStep, to: rank,
                               serverCount: serverCount) else { return .refuse(.misrouted) }
        let layout = known ?? FieldLayout(
            globalSize: header.globalSize,
            block: routing.block(globalSize: header.globalSize, rank: rank, serverCount: serverCount))
        // A header-only message (count 0) is the notice an empty block gets every step.
        let inBlock = header.count == 0
            ? (layout.blockSize == 0 && header.offset == layout.block.lowerBound)
            : (header.offset >= layout.block.lowerBound && header.count <= layout.block.upperBound
               && header.offset <= layout.block.upperBound - header.count)
        guard inBlock else { return .refuse(.misrouted) }
        return .admit(layout, learnsLayout: known == nil)
    }
}
