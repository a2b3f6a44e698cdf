// Turning raw series into drawable runs: split at non-finite values, and cap the number
// of points so a 10,000-step study still yields a small file and a fast page.

/// A point of a line in data coordinates.
public struct DataPoint: Sendable, Equatable {
    /// Position on the x axis (time step).
    public var x: Double
    /// Value.
    public var y: Double

    /// Creates a point.
    public init(x: Double, y: Double) {
        self.x = x
        self.y = y
    }
}

/// A vertical slice of a band in data coordinates.
public struct BandPoint: Sendable, Equatable {
    /// Position on the x axis (time step).
    public var x: Double
    /// Lower bound.
    public var lower: Double
    /// Upper bound.
    public var upper: Double

    /// Creates a band slice.
    public init(x: Double, lower: Double, upper: Double) {
        self.x = x
        self.lower = lower
        self.upper = upper
    }
}

/// Splits series into finite runs and decimates long ones.
public enum Decimation {
    /// Runs of finite points of `y` over `x`, with at most `max(maxPoints, 2)` points in total.
    ///
    /// A non-finite x or y ends a run (the line is broken there rather than drawn to zero).
    /// Long series are cut into `maxPoints / 2` buckets, each keeping its minimum and its
    /// maximum in index order: a single-step spike survives, which plain stride sampling
    /// would drop.
    public static func lineRuns(x: [Double], y: [Double], maxPoints: Int) -> [[DataPoint]] {
        let n = min(x.count, y.count)
        var builder = RunBuilder<DataPoint>()
        if n <= max(maxPoints, 2) {
            for i in 0..<n {
                if x[i].isFinite && y[i].isFinite {
                    builder.append(DataPoint(x: x[i], y: y[i]))
                } else {
                    builder.breakRun()
                }
            }
            return builder.finish()
        }
        let buckets = max(1, maxPoints / 2)
        for b in 0..<buckets {
            let range = bucketRange(b, of: buckets, count: n)
            appendLineBucket(x: x, y: y, range: range, to: &builder)
        }
        return builder.finish()
    }

    /// Runs of band slices where x, lower and upper are all finite, with at most `max(maxPoints, 4)` slices in total.
    ///
    /// Long bands are cut into `maxPoints / 4` buckets; each bucket keeps the envelope
    /// (lowest lower, highest upper) of its finite slices, at the first and last x of the
    /// finite stretch before and after any non-finite slice, so the band is broken there.
    public static func bandRuns(x: [Double], lower: [Double], upper: [Double], maxPoints: Int) -> [[BandPoint]] {
        let n = min(x.count, lower.count, upper.count)
        var builder = RunBuilder<BandPoint>()
        if n <= max(maxPoints, 4) {
            for i in 0..<n {
                if isFiniteSlice(x, lower, upper, i) {
                    builder.append(BandPoint(x: x[i], lower: lower[i], upper: upper[i]))
                } else {
                    builder.breakRun()
                }
            }
            return builder.finish()
        }
        let buckets = max(1, maxPoints / 4)
        for b in 0..<buckets {
            let range = bucketRange(b, of: buckets, count: n)
            appendBandBucket(x: x, lower: lower, upper: upper, range: range, to: &builder)
        }
        return builder.finish()
    }

    /// Indices of bucket `b` when `count` items are split into `buckets` nearly equal buckets.
    private static func bucketRange(_ b: Int, of buckets: Int, count: Int) -> Range<Int> {
        (b * count / buckets)..<((b + 1) * count / buckets)
    }

    private static func isFiniteSlice(_ x: [Double], _ lower: [Double], _ upper: [Double], _ i: Int) -> Bool {
        x[i].isFinite && lower[i].isFinite && upper[i].isFinite
    }

    /// Emits the bucket's min and max in index order, and a break at its first non-finite value.
    private static func appendLineBucket(x: [Double], y: [Double], range: Range<Int>,
                                         to builder: inout RunBuilder<DataPoint>) {
        var minIndex = -1
        var maxIndex = -1
        var firstBad = -1
        for i in range {
            guard x[i].isFinite && y[i].isFinite else {
                if firstBad < 0 { firstBad = i }
                continue
            }
            if minIndex < 0 || y[i] < y[minIndex] { minIndex = i }
            if maxIndex < 0 || y[i] > y[maxIndex] { maxIndex = i }
        }
        // Events sorted by index; a break sorts before a point at the same index (cannot happen,
        // a bad index is never a min/max index, but the order is then still well defined).
        var events: [(index: Int, isBreak: Bool)] = []
        if firstBad >= 0 { events.append((firstBad, true)) }
        if minIndex >= 0 { events.append((minIndex, false)) }
        if maxIndex >= 0 && maxIndex != minIndex { events.append((maxIndex, false)) }
        events.sort { $0.index < $1.index }
        for event in events {
            if event.isBreak {
                builder.breakRun()
            } else {
                builder.append(DataPoint(x: x[event.index], y: y[event.index]))
            }
        }
    }

    /// Emits the envelope of the finite stretch before the bucket's first non-finite slice,
    /// a break if there is one, and the envelope of the stretch after its last one.
    private static func appendBandBucket(x: [Double], lower: [Double], upper: [Double], range: Range<Int>,
                                         to builder: inout RunBuilder<BandPoint>) {
        var firstBad = -1
        var lastBad = -1
        for i in range where !isFiniteSlice(x, lower, upper, i) {
            if firstBad < 0 { firstBad = i }
            lastBad = i
        }
        if firstBad < 0 {
            appendEnvelope(x: x, lower: lower, upper: upper, range: range, to: &builder)
            return
        }
        appendEnvelope(x: x, lower: lower, upper: upper, range: range.lowerBound..<firstBad, to: &builder)
        builder.breakRun()
        appendEnvelope(x: x, lower: lower, upper: upper, range: (lastBad + 1)..<range.upperBound, to: &builder)
    }

    /// Appends the envelope of an all-finite index range as one or two slices (first and last x).
    private static func appendEnvelope(x: [Double], lower: [Double], upper: [Double], range: Range<Int>,
                                       to builder: inout RunBuilder<BandPoint>) {
        guard let first = range.first, let last = range.last else { return }
        var low = lower[first]
        var high = upper[first]
        for i in range {
            low = min(low, lower[i])
            high = max(high, upper[i])
        }
        builder.append(BandPoint(x: x[first], lower: low, upper: high))
        if last != first {
            builder.append(BandPoint(x: x[last], lower: low, upper: high))
        }
    }
}

/// Collects points into runs; a break closes the current run.
struct RunBuilder<Point> {
    private var runs: [[Point]] = []
    private var current: [Point] = []

    mutating func append(_ point: Point) { current.append(point) }

    mutating func breakRun() {
        if !current.isEmpty {
            runs.append(current)
            current = []
        }
    }

    mutating func finish() -> [[Point]] {
        breakRun()
        return runs
    }
}
