import Foundation

/// Typed reads of a flavor's config section, every problem reported with its key path (the
/// same rules and messages as the core sections). A read returns nil when the key is absent
/// or invalid; an invalid value is already reported, so a nil is never a silent default.
public struct SectionReader {
    let reader: ObjectReader

    init(_ reader: ObjectReader) { self.reader = reader }

    /// The section's name (`sa_config`, ...), as issues print it.
    public var sectionName: String { reader.path.rendered }
    /// Whether the section has `key` at all (valid or not).
    public func contains(_ key: String) -> Bool { reader.object[key] != nil }

    /// A boolean.
    public func bool(_ key: String, required: Bool = false) -> Bool? { reader.bool(key, required: required) }
    /// An integer in `range`.
    public func int(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> Int? {
        reader.int(key, required: required, range: range)
    }
    /// A finite number greater than `exclusiveMinimum` and at most `maximum`.
    public func number(_ key: String, required: Bool = false, greaterThan exclusiveMinimum: Double,
                       atMost maximum: Double) -> Double? {
        reader.number(key, required: required, greaterThan: exclusiveMinimum, atMost: maximum)
    }
    /// A string (non-empty unless `allowEmpty`, never with NUL).
    public func string(_ key: String, required: Bool = false, allowEmpty: Bool = false) -> String? {
        reader.string(key, required: required, allowEmpty: allowEmpty)
    }
    /// An array of strings.
    public func stringArray(_ key: String, required: Bool = false) -> [String]? {
        reader.stringArray(key, required: required)
    }
    /// An array of integers, each in `range`.
    public func intArray(_ key: String, required: Bool = false, range: ClosedRange<Int>) -> [Int]? {
        reader.intArray(key, required: required, range: range)
    }
    /// An array of finite numbers.
    public func numberArray(_ key: String, required: Bool = false) -> [Double]? {
        reader.numberArray(key, required: required)
    }
    /// A string naming one case of `E` (the error suggests the nearest valid value).
    public func choice<E: RawRepresentable & CaseIterable>(_ key: String, required: Bool = false,
                                                          as type: E.Type) -> E? where E.RawValue == String {
        reader.choice(key, required: required, as: type)
    }
    /// An object, returned as compact JSON text with sorted keys (handed on as it is, for
    /// settings the flavor passes to user code without interpreting them).
    public func objectJSON(_ key: String, required: Bool = false) -> String? {
        guard let object = reader.object(key, required: required) else { return nil }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
              let text = String(data: data, encoding: .utf8) else {
            report(key, "cannot be written back as JSON")
            return nil
        }
        return text
    }
    /// Reports a problem with `key` of this section (a rule that joins several keys, say).
    public func report(_ key: String, _ message: String) {
        reader.issues.add(reader.path.appending(key), message)
    }
    /// Reports a problem with `study_options.key` that this flavor's rules find.
    public func reportStudyOption(_ key: String, _ message: String) {
        reader.issues.add(ConfigPath.root.appending("study_options").appending(key), message)
    }
}

/// The `study_options` keys a flavor's section may be checked against, each nil when it is
/// absent or itself invalid (its own issue is already reported).
public struct StudyContext: Sendable {
    /// `field_names`.
    public var fieldNames: [String]?
    /// `field_sizes` (nil when absent).
    public var fieldSizes: [Int]?
    /// `parameter_sweep_size`.
    public var sweepSize: Int?
    /// `nb_parameters`.
    public var nbParameters: Int?
    /// `group_size` as written (nil when left out).
    public var groupSize: Int?
    /// `sampler`.
    public var sampler: SamplerKind?
}
