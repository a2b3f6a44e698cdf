import Foundation

/// A value produced by JSONSerialization, sorted into JSON's kinds.
///
/// JSONSerialization returns `NSNumber` for both numbers and booleans (on Linux and Darwin),
/// and `NSNumber(1) as? Bool` succeeds, so booleans are told apart by their Objective-C type
/// code `c` and by the boolean NSNumber subclass, never by casting.
enum JSONValue {
    case object([String: Any])
    case array([Any])
    case string(String)
    case bool(Bool)
    case number(NSNumber)
    case null
    case other(String)

    private static let booleanClass = ObjectIdentifier(type(of: NSNumber(value: true)))
    private static let plainNumberClass = ObjectIdentifier(NSNumber.self)

    init(_ value: Any) {
        if value is NSNull {
            self = .null
        } else if let number = value as? NSNumber {
            self = JSONValue.isBoolean(number) ? .bool(number.boolValue) : .number(number)
        } else if let string = value as? String {
            self = .string(string)
        } else if let object = value as? [String: Any] {
            self = .object(object)
        } else if let array = value as? [Any] {
            self = .array(array)
        } else {
            self = .other(String(describing: type(of: value)))
        }
    }

    /// True for the NSNumbers JSONSerialization makes from `true` and `false`.
    static func isBoolean(_ number: NSNumber) -> Bool {
        let typeClass = ObjectIdentifier(type(of: number))
        if typeClass == booleanClass && booleanClass != plainNumberClass { return true }
        return number.objCType.pointee == CChar(UInt8(ascii: "c"))
    }

    /// The kind with an article, for messages: "a string", "an array".
    var kindName: String {
        switch self {
        case .object: return "an object"
        case .array: return "an array"
        case .string: return "a string"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .null: return "null"
        case .other(let name): return "an unsupported value (\(name))"
        }
    }

    /// The kind plus a short rendering of the value: `a string ("5")`, `a boolean (true)`.
    var summary: String {
        switch self {
        case .object(let object): return "an object with \(object.count) key\(object.count == 1 ? "" : "s")"
        case .array(let array): return "an array of \(array.count) element\(array.count == 1 ? "" : "s")"
        case .string(let string): return "a string (\(quoted(string, limit: 40)))"
        case .bool(let bool): return "a boolean (\(bool))"
        case .number(let number): return "a number (\(JSONValue.render(number)))"
        case .null, .other: return kindName
        }
    }

    /// An NSNumber as JSON-ish text, short enough for a message.
    static func render(_ number: NSNumber) -> String {
        if let integer = integerValue(number) { return String(integer) }
        let double = number.doubleValue
        let text = double.rounded() == double && abs(double) < 1e15 ? String(Int(double)) : "\(double)"
        return text
    }

    /// The number as an `Int` if it is integral and in range; nil otherwise.
    static func integerValue(_ number: NSNumber) -> Int? {
        if case .integer(let value) = classifyInteger(number) { return value }
        return nil
    }

    enum IntegerReading {
        case integer(Int)
        case fractional
        case outOfRange
    }

    /// Reads an integer without trusting lossy bridging: fractional values and values outside `Int` are reported.
    static func classifyInteger(_ number: NSNumber) -> IntegerReading {
        if number is NSDecimalNumber {
            if let exact = Int(number.stringValue) { return .integer(exact) }
            var value = number.decimalValue
            var rounded = Decimal()
            NSDecimalRound(&rounded, &value, 0, .plain)
            return rounded == value ? .outOfRange : .fractional
        }
        switch UInt8(bitPattern: number.objCType.pointee) {
        case UInt8(ascii: "q"), UInt8(ascii: "i"), UInt8(ascii: "l"), UInt8(ascii: "s"), UInt8(ascii: "c"):
            return .integer(Int(number.int64Value))
        case UInt8(ascii: "Q"), UInt8(ascii: "I"), UInt8(ascii: "L"), UInt8(ascii: "S"), UInt8(ascii: "C"):
            if let value = Int(exactly: number.uint64Value) { return .integer(value) }
            return .outOfRange
        default:
            let double = number.doubleValue
            guard double.isFinite else { return .outOfRange }
            guard double.rounded(.towardZero) == double else { return .fractional }
            if let value = Int(exactly: double) { return .integer(value) }
            return .outOfRange
        }
    }
}
