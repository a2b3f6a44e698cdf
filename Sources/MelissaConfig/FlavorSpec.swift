/// A server flavor as the config sees it: the `server_class` name that selects it and the
/// config section it owns. Registered in a `FlavorRegistry`; `MelissaConfig` itself knows no
/// flavor but through one.
public struct FlavorSpec: Sendable {
    /// The `server_class` value that selects the flavor.
    public let name: String
    /// One line for `--help` texts and error messages.
    public let summary: String
    /// The top-level key of the flavor's own section (`sa_config`, ...); nil when it has none.
    public let sectionName: String?
    /// The keys the section accepts; any other is reported with the nearest valid one.
    public let sectionKeys: [String]
    /// Whether `read` checks the study options against its sampling plan itself; otherwise the
    /// core applies the generic rules (group size within the sweep, sampler dimensions, total count).
    public let checksStudyOptions: Bool
    /// Validates the section (an empty one when it is absent) against the study options and
    /// returns the settings; nil or any reported issue rejects the config.
    public let read: @Sendable (SectionReader, StudyContext) -> (any FlavorSettings)?

    /// Describes a flavor; `read` reports every problem through the reader, with key paths.
    public init(name: String, summary: String, sectionName: String? = nil, sectionKeys: [String] = [],
                checksStudyOptions: Bool = false,
                read: @escaping @Sendable (SectionReader, StudyContext) -> (any FlavorSettings)? = { _, _ in NoFlavorSettings() }) {
        self.name = name
        self.summary = summary
        self.sectionName = sectionName
        self.sectionKeys = sectionKeys
        self.checksStudyOptions = checksStudyOptions
        self.read = read
    }
}

/// The flavors a program knows, by `server_class`: the launcher and the server validate a config
/// against the same registry, so a flavor's section is checked before anything starts.
public struct FlavorRegistry: Sendable {
    /// The flavors, in registration order.
    public let specs: [FlavorSpec]

    /// A registry of `specs`; names and section names must be unique (a programming error otherwise).
    public init(_ specs: [FlavorSpec]) {
        precondition(Set(specs.map(\.name)).count == specs.count, "two flavors share a server_class name")
        let sections = specs.compactMap(\.sectionName)
        precondition(Set(sections).count == sections.count, "two flavors share a config section")
        precondition(sections.allSatisfy { !ConfigSchema.topLevel.contains($0) }, "a flavor section shadows a core key")
        self.specs = specs
    }

    /// The flavor `server_class` names, or nil.
    public func spec(named name: String) -> FlavorSpec? { specs.first { $0.name == name } }
    /// Every `server_class` value, in registration order.
    public var names: [String] { specs.map(\.name) }
    /// The flavors `MelissaConfig` ships: sensitivity analysis (the default `server_class`).
    public static let builtIn = FlavorRegistry([.sensitivityAnalysis])
    /// The `server_class` used when the config leaves it out.
    public static let defaultName = FlavorSpec.sensitivityAnalysis.name
}
