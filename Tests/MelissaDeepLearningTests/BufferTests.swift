import XCTest
import MelissaCheckpoint
@testable import MelissaDeepLearning

/// The four sample buffers: each policy's batches, the watermark, back-pressure, eviction, draining, pseudo-epochs, checkpoints.
final class BufferTests: XCTestCase {
    // MARK: Helpers

    /// Sample number `i`: a unique (simulation, timeStep) and values that identify it.
    private func sample(_ i: Int, width: Int = 2) -> Sample {
        Sample(simulation: UInt32(i / 100), timeStep: UInt32(i % 100), parameters: [Double(i)],
               values: (0..<width).map { Double(i * 10 + $0) })
    }

    private func number(_ s: Sample) -> Int { Int(s.simulation) * 100 + Int(s.timeStep) }

    private func settings(_ policy: BufferPolicy, capacity: Int, watermark: Int, batch: Int, epochs: Int = 1,
                          seed: UInt64 = 7) -> BufferSettings {
        BufferSettings(policy: policy, capacity: capacity, watermark: watermark, batchSize: batch, pseudoEpochs: epochs, seed: seed)
    }

    /// The sample numbers of a batch, or nil for `.wait` / `.exhausted`.
    private func numbers(_ outcome: TakeOutcome) -> [Int]? {
        if case .batch(let batch) = outcome { return batch.map(number) }
        return nil
    }

    /// Takes with reception over until `.exhausted`, failing if that never comes.
    private func drain(_ buffer: inout SampleBuffer, limit: Int = 10_000,
                       file: StaticString = #filePath, line: UInt = #line) -> [[Int]] {
        var batches: [[Int]] = []
        for _ in 0..<limit {
            let outcome = buffer.take(receptionOver: true)
            if outcome == .exhausted { return batches }
            guard let batch = numbers(outcome) else {
                XCTFail("a take after reception answered \(outcome)", file: file, line: line)
                return batches
            }
            batches.append(batch)
        }
        XCTFail("no .exhausted after \(limit) takes", file: file, line: line)
        return batches
    }

    private func heldBytes(_ buffer: SampleBuffer, among numbers: some Sequence<Int>) -> Int {
        numbers.filter { buffer.seenCount(simulation: UInt32($0 / 100), timeStep: UInt32($0 % 100)) != nil }
            .reduce(0) { $0 + sample($1).byteCount }
    }

    // MARK: Basics

    func testSplitMix64MatchesReferenceOutputAndResumesFromState() {
        var rng = SplitMix64(seed: 0)
        // Reference values of splitmix64.c seeded with 0.
        XCTAssertEqual(rng.next(), 0xE220_A839_7B1D_CDAF)
        XCTAssertEqual(rng.next(), 0x6E78_9E6A_A1B9_65F4)
        var resumed = SplitMix64(state: rng.state)
        XCTAssertEqual(rng.next(), resumed.next())
        var seen = Set<Int>()
        for _ in 0..<1000 {
            let i = rng.index(below: 7)
            XCTAssert((0..<7).contains(i))
            seen.insert(i)
        }
        XCTAssertEqual(seen.count, 7)
    }

    func testSampleByteCountAndSettingsProblems() {
        XCTAssertEqual(sample(3, width: 5).byteCount, 8 * 6)
        XCTAssertNil(settings(.firo, capacity: 10, watermark: 10, batch: 10).problem)
        XCTAssertNotNil(settings(.firo, capacity: 4, watermark: 2, batch: 5).problem)
        XCTAssertNotNil(settings(.firo, capacity: 4, watermark: 5, batch: 2).problem)
        XCTAssertNotNil(settings(.fifo, capacity: 4, watermark: 2, batch: 2, epochs: 0).problem)
        XCTAssertNotNil(settings(.reservoir, capacity: 0, watermark: 0, batch: 1).problem)
    }

    // MARK: FIFO / FIRO

    func testFIFOServesArrivalOrderInFullBatchesThenTheRemainder() {
        var buffer = SampleBuffer(settings: settings(.fifo, capacity: 20, watermark: 20, batch: 4))
        for i in 0..<10 { XCTAssertEqual(buffer.put(sample(i)), .stored) }
        XCTAssertEqual(numbers(buffer.take(receptionOver: false)), [0, 1, 2, 3])
        XCTAssertEqual(numbers(buffer.take(receptionOver: false)), [4, 5, 6, 7])
        XCTAssertEqual(buffer.take(receptionOver: false), .wait, "2 held < batch size while data streams")
        XCTAssertEqual(numbers(buffer.take(receptionOver: true)), [8, 9])
        XCTAssertEqual(buffer.take(receptionOver: true), .exhausted)
        XCTAssertEqual(buffer.count, 0)
        XCTAssertEqual(buffer.heldBytes, 0)
        XCTAssertEqual(buffer.batchesTaken, 3)
        XCTAssertEqual(buffer.samplesTaken, 10)
    }

    func testWatermarkGatesFIROAndReservoirsButNotFIFO() {
        for policy in BufferPolicy.allCases {
            var buffer = SampleBuffer(settings: settings(policy, capacity: 10, watermark: 6, batch: 2))
            for i in 0..<5 { _ = buffer.put(sample(i)) }
            let early = buffer.take(receptionOver: false)
            if policy == .fifo {
                XCTAssertEqual(numbers(early), [0, 1], "Melissa's FIFO has no watermark")
                continue
            }
            XCTAssertEqual(early, .wait, "\(policy): 5 held < watermark 6")
            XCTAssertFalse(buffer.trainingStarted)
            _ = buffer.put(sample(5))
            XCTAssertEqual(numbers(buffer.take(receptionOver: false))?.count, 2, "\(policy)")
            if policy == .firo {
                // Started once: batches continue below the watermark.
                XCTAssertEqual(numbers(buffer.take(receptionOver: false))?.count, 2)
                XCTAssertEqual(buffer.count, 2)
                XCTAssertEqual(numbers(buffer.take(receptionOver: false))?.count, 2)
            }
        }
    }

    func testFIROServesEveryPutSampleExactlyOnceInRandomOrder() {
        var buffer = SampleBuffer(settings: settings(.firo, capacity: 50, watermark: 10, batch: 7))
        var served: [Int] = []
        for i in 0..<40 {
            XCTAssertEqual(buffer.put(sample(i)), .stored)
            if i % 3 == 0, let batch = numbers(buffer.take(receptionOver: false)) {
                XCTAssertEqual(batch.count, 7)
                served += batch
            }
        }
        for batch in drain(&buffer) { served += batch }
        XCTAssertEqual(served.sorted(), Array(0..<40))
        XCTAssertNotEqual(served, Array(0..<40), "FIRO should not serve in arrival order")
    }

    func testFIFOAndFIROPushBackWhenFull() {
        for policy in [BufferPolicy.fifo, .firo] {
            var buffer = SampleBuffer(settings: settings(policy, capacity: 3, watermark: 3, batch: 2))
            for i in 0..<3 { XCTAssertEqual(buffer.put(sample(i)), .stored) }
            XCTAssertEqual(buffer.put(sample(3)), .full, "\(policy)")
            XCTAssertEqual(buffer.count, 3)
            XCTAssertEqual(buffer.samplesPut, 3)
            XCTAssertNil(buffer.seenCount(simulation: 0, timeStep: 3), "a refused sample is not held")
            XCTAssertNotNil(numbers(buffer.take(receptionOver: false)))
            XCTAssertEqual(buffer.put(sample(3)), .stored, "\(policy): room after a take")
        }
    }

    /// Random interleavings of puts and takes over many sizes: the batch count is `expectedBatches`, every sample is served
    /// once, batches are full but the last, FIFO keeps arrival order, and memory never exceeds the capacity.
    func testFIFOAndFIROBatchCountsMatchExpectedBatchesForAnyInterleaving() {
        var dice = SplitMix64(seed: 2024)
        for round in 0..<300 {
            let policy: BufferPolicy = round % 2 == 0 ? .fifo : .firo
            let batch = 1 + dice.index(below: 8)
            let capacity = batch + dice.index(below: 10)
            let watermark = dice.index(below: capacity + 1)
            let total = dice.index(below: 61)
            let s = settings(policy, capacity: capacity, watermark: watermark, batch: batch, seed: UInt64(round))
            var buffer = SampleBuffer(settings: s)
            var served: [[Int]] = []
            var next = 0
            while next < total {
                if dice.index(below: 3) == 0 {
                    if let b = numbers(buffer.take(receptionOver: false)) { served.append(b) }
                } else if buffer.put(sample(next)) == .full {
                    // Full means at capacity ≥ watermark and ≥ batch size, so a take must serve.
                    guard let b = numbers(buffer.take(receptionOver: false)) else {
                        return XCTFail("round \(round): full buffer served nothing")
                    }
                    served.append(b)
                } else {
                    next += 1
                }
                XCTAssertLessThanOrEqual(buffer.count, capacity)
                XCTAssertEqual(buffer.heldBytes, buffer.count * sample(0).byteCount)
            }
            served += drain(&buffer)
            let context = "round \(round): \(policy) total \(total) batch \(batch) capacity \(capacity) watermark \(watermark)"
            XCTAssertEqual(served.count, SampleBuffer.expectedBatches(totalSamples: total, settings: s), context)
            XCTAssertEqual(buffer.batchesTaken, served.count, context)
            XCTAssert(served.dropLast().allSatisfy { $0.count == batch }, context)
            XCTAssertEqual(served.joined().sorted(), Array(0..<total), context)
            if policy == .fifo { XCTAssertEqual(Array(served.joined()), Array(0..<total), context) }
        }
    }

    // MARK: Reservoirs

    func testReservoirEvictionKeepsCountAtCapacityAndReportsTheEvictedSample() {
        for policy in [BufferPolicy.reservoir, .batchReservoir] {
            var buffer = SampleBuffer(settings: settings(policy, capacity: 5, watermark: 5, batch: 2))
            var held = Set<Int>()
            for i in 0..<30 {
                let outcome = buffer.put(sample(i))
                if i < 5 {
                    XCTAssertEqual(outcome, .stored)
                } else if case .storedEvicting(let simulation, let timeStep) = outcome {
                    let evicted = Int(simulation) * 100 + Int(timeStep)
                    XCTAssert(held.contains(evicted), "\(policy): evicted \(evicted) was not held")
                    XCTAssertNil(buffer.seenCount(simulation: simulation, timeStep: timeStep), "\(policy): still held")
                    held.remove(evicted)
                } else {
                    XCTFail("\(policy): put \(i) into a full reservoir answered \(outcome)")
                }
                held.insert(i)
                XCTAssertEqual(buffer.count, min(i + 1, 5))
                XCTAssertEqual(buffer.heldBytes, heldBytes(buffer, among: held))
                if i % 4 == 0 { _ = buffer.take(receptionOver: false) }
            }
            XCTAssertEqual(buffer.samplesPut, 30)
        }
    }

    func testReservoirSeenCountsEqualAnIndependentTallyOfBatches() {
        // The second size outgrows the seen index's first allocation (1024 slots) while samples are already seen.
        for policy in [BufferPolicy.reservoir, .batchReservoir] {
            for (capacity, batch, steps) in [(12, 4, 400), (2000, 16, 6000)] {
                var buffer = SampleBuffer(settings: settings(policy, capacity: capacity, watermark: 8, batch: batch, seed: 99))
                var tally: [Int: Int] = [:]
                var dice = SplitMix64(seed: 5)
                var next = 0
                let context = "\(policy) capacity \(capacity)"
                func count(_ batch: [Int]) {
                    XCTAssertEqual(Set(batch).count, batch.count, "\(context): a batch repeats a sample")
                    for n in batch {
                        XCTAssertNotNil(tally[n], "\(context): served \(n), which is not held")
                        tally[n, default: 0] += 1
                    }
                }
                for _ in 0..<steps {
                    if dice.index(below: 2) == 0 {
                        if case .storedEvicting(let sim, let step) = buffer.put(sample(next)) {
                            tally[Int(sim) * 100 + Int(step)] = nil
                        }
                        tally[next] = 0
                        next += 1
                    } else if let b = numbers(buffer.take(receptionOver: false)) {
                        XCTAssertEqual(b.count, batch, context)
                        XCTAssertEqual(buffer.count, min(next, capacity), "\(context): a reservoir take removes nothing")
                        count(b)
                    }
                }
                for b in drain(&buffer) { count(b) }
                XCTAssertEqual(tally.count, buffer.count, context)
                for (n, times) in tally {
                    XCTAssertGreaterThanOrEqual(times, 1, "\(context): drained without serving \(n)")
                    XCTAssertEqual(buffer.seenCount(simulation: UInt32(n / 100), timeStep: UInt32(n % 100)), times, "\(context) sample \(n)")
                }
            }
        }
    }

    func testReservoirDrainServesUnseenSamplesFirstAndEndsWhenAllWereSeen() {
        for policy in [BufferPolicy.reservoir, .batchReservoir] {
            for (capacity, batch, takes) in [(20, 3, 4), (20, 6, 0), (5, 5, 1), (9, 4, 30)] {
                var buffer = SampleBuffer(settings: settings(policy, capacity: capacity, watermark: 2, batch: batch))
                for i in 0..<(capacity + 7) { _ = buffer.put(sample(i)) }
                for _ in 0..<takes { _ = buffer.take(receptionOver: false) }
                let held = (0..<(capacity + 7)).filter { buffer.seenCount(simulation: UInt32($0 / 100), timeStep: UInt32($0 % 100)) != nil }
                let unseen = Set(held.filter { buffer.seenCount(simulation: UInt32($0 / 100), timeStep: UInt32($0 % 100)) == 0 })
                let batches = drain(&buffer)
                let context = "\(policy) capacity \(capacity) batch \(batch) takes \(takes)"
                XCTAssertEqual(batches.count, (unseen.count + batch - 1) / batch, context)
                XCTAssert(batches.allSatisfy { $0.count == batch && Set($0).count == batch }, context)
                // Unseen first: batches before the last hold only unseen samples, none twice; the last tops up with
                // seen ones (possibly drained earlier); together they cover every unseen sample.
                let early = Array(batches.dropLast().joined())
                XCTAssert(early.allSatisfy(unseen.contains), context)
                XCTAssertEqual(Set(early).count, early.count, context)
                XCTAssertEqual(Set(batches.joined()).intersection(unseen), unseen, context)
                for n in held {
                    XCTAssertGreaterThanOrEqual(buffer.seenCount(simulation: UInt32(n / 100), timeStep: UInt32(n % 100)) ?? 0, 1, context)
                }
                XCTAssertEqual(buffer.count, capacity, "draining keeps the samples")
                XCTAssertEqual(buffer.take(receptionOver: true), .exhausted)
            }
        }
    }

    func testReservoirDrainsBelowBatchSizeWhenReceptionEndsEarly() {
        var buffer = SampleBuffer(settings: settings(.reservoir, capacity: 10, watermark: 8, batch: 4))
        for i in 0..<3 { _ = buffer.put(sample(i)) }
        XCTAssertEqual(buffer.take(receptionOver: false), .wait)
        XCTAssertEqual(numbers(buffer.take(receptionOver: true))?.sorted(), [0, 1, 2])
        XCTAssertEqual(buffer.take(receptionOver: true), .exhausted)
        var empty = SampleBuffer(settings: settings(.batchReservoir, capacity: 10, watermark: 8, batch: 4))
        XCTAssertEqual(empty.take(receptionOver: true), .exhausted)
    }

    func testBatchReservoirEvictsSeenSamplesBeforeUnseenOnes() {
        var buffer = SampleBuffer(settings: settings(.batchReservoir, capacity: 6, watermark: 6, batch: 2))
        for i in 0..<6 { _ = buffer.put(sample(i)) }
        guard let seen = numbers(buffer.take(receptionOver: false)) else { return XCTFail("no batch at the watermark") }
        var evicted: [Int] = []
        for i in 6..<9 {
            guard case .storedEvicting(let sim, let step) = buffer.put(sample(i)) else { return XCTFail("no eviction") }
            evicted.append(Int(sim) * 100 + Int(step))
        }
        XCTAssertEqual(Set(evicted.prefix(2)), Set(seen), "the two trained-on samples go first")
        XCTAssertFalse(seen.contains(evicted[2]), "then, none seen, an unseen one")
        XCTAssertEqual(buffer.count, 6)
    }

    // MARK: Pseudo-epochs

    func testPseudoEpochsServeEverySampleExactlyThatManyTimesAfterReception() {
        for policy in BufferPolicy.allCases {
            let s = settings(policy, capacity: 10, watermark: 2, batch: 3, epochs: 3)
            var buffer = SampleBuffer(settings: s)
            for i in 0..<7 {
                XCTAssertEqual(buffer.put(sample(i)), .stored)
                XCTAssertEqual(buffer.take(receptionOver: false), .wait, "\(policy): nothing before reception ends")
            }
            let batches = drain(&buffer)
            XCTAssertEqual(batches.map(\.count), [3, 3, 1, 3, 3, 1, 3, 3, 1], "\(policy)")
            var passes: [[Int]] = []
            for pass in 0..<3 {
                let order = Array(batches[(pass * 3)..<(pass * 3 + 3)].joined())
                XCTAssertEqual(order.sorted(), Array(0..<7), "\(policy) pass \(pass)")
                passes.append(order)
            }
            XCTAssertFalse(passes[0] == passes[1] && passes[1] == passes[2], "\(policy): each pass reshuffles")
            if let expected = SampleBuffer.expectedBatches(totalSamples: 7, settings: s) {
                XCTAssertEqual(batches.count, expected)
            }
            let consumes = policy == .fifo || policy == .firo
            XCTAssertEqual(buffer.count, consumes ? 0 : 7, "\(policy)")
            if !consumes { XCTAssertEqual(buffer.seenCount(simulation: 0, timeStep: 4), 3) }
        }
    }

    func testPseudoEpochsKeepMemoryBounded() {
        var fifo = SampleBuffer(settings: settings(.fifo, capacity: 3, watermark: 1, batch: 2, epochs: 2))
        for i in 0..<3 { _ = fifo.put(sample(i)) }
        XCTAssertEqual(fifo.put(sample(3)), .full)
        XCTAssertNil(SampleBuffer.expectedBatches(totalSamples: 4, settings: fifo.settings), "4 samples cannot all be held")
        XCTAssertEqual(SampleBuffer.expectedBatches(totalSamples: 3, settings: fifo.settings), 4)
        var reservoir = SampleBuffer(settings: settings(.reservoir, capacity: 3, watermark: 1, batch: 2, epochs: 2))
        for i in 0..<8 { _ = reservoir.put(sample(i)) }
        XCTAssertEqual(reservoir.count, 3)
        XCTAssertEqual(drain(&reservoir).joined().count, 6)
        XCTAssertNil(SampleBuffer.expectedBatches(totalSamples: 8, settings: reservoir.settings))
    }

    // MARK: Checkpoints

    /// A scripted run: puts, streaming takes, then reception over. Returns what each step produced.
    private func run(_ buffer: inout SampleBuffer, steps: Range<Int>) -> [String] {
        steps.map { step in
            if step < 60 {
                if step % 3 == 2 { return "\(buffer.take(receptionOver: false))" }
                return "\(buffer.put(sample(step)))"
            }
            return "\(buffer.take(receptionOver: true))"
        }
    }

    func testCheckpointRoundTripContinuesIdentically() throws {
        for policy in BufferPolicy.allCases {
            for epochs in [1, 2] {
                for cut in [25, 61, 70] {
                    let s = settings(policy, capacity: 30, watermark: 10, batch: 4, epochs: epochs, seed: 11)
                    var original = SampleBuffer(settings: s)
                    _ = run(&original, steps: 0..<cut)
                    var encoder = CheckpointEncoder()
                    original.encode(into: &encoder)
                    var decoder = CheckpointDecoder(encoder.bytes, section: "DLBF")
                    var restored = try SampleBuffer(restoring: &decoder, settings: s)
                    let context = "\(policy) epochs \(epochs) cut \(cut)"
                    XCTAssertEqual(restored.count, original.count, context)
                    XCTAssertEqual(restored.heldBytes, original.heldBytes, context)
                    XCTAssertEqual(restored.samplesPut, original.samplesPut, context)
                    XCTAssertEqual(restored.batchesTaken, original.batchesTaken, context)
                    var again = CheckpointEncoder()
                    restored.encode(into: &again)
                    XCTAssertEqual(again.bytes, encoder.bytes, context)
                    XCTAssertEqual(run(&restored, steps: cut..<140), run(&original, steps: cut..<140), context)
                    XCTAssertEqual(restored.samplesTaken, original.samplesTaken, context)
                }
            }
        }
    }

    func testRestoreRefusesTruncatedGarbageAndMismatchedBytes() {
        let s = settings(.reservoir, capacity: 30, watermark: 10, batch: 4, seed: 3)
        var buffer = SampleBuffer(settings: s)
        _ = run(&buffer, steps: 0..<50)
        var encoder = CheckpointEncoder()
        buffer.encode(into: &encoder)
        let bytes = encoder.bytes

        func restore(_ bytes: [UInt8], _ settings: BufferSettings) -> CheckpointError? {
            var decoder = CheckpointDecoder(bytes, section: "DLBF")
            do {
                _ = try SampleBuffer(restoring: &decoder, settings: settings)
                // The buffer reads its own fields; the section's owner checks nothing follows.
                try decoder.finish()
                return nil
            } catch {
                return error
            }
        }
        func field(_ error: CheckpointError?) -> String? {
            switch error {
            case .invalidValue(_, let field, _)?, .truncated(_, let field, _, _, _)?: return field
            default: return nil
            }
        }

        XCTAssertNil(restore(bytes, s))
        for length in stride(from: 0, to: bytes.count, by: 7) {
            XCTAssertNotNil(restore(Array(bytes.prefix(length)), s), "a checkpoint cut at \(length) bytes was accepted")
        }
        XCTAssertEqual(field(restore(bytes + [0], s)), "end")
        var garbage = SplitMix64(seed: 1)
        for _ in 0..<50 {
            let noise = (0..<garbage.index(below: 300)).map { _ in UInt8(truncatingIfNeeded: garbage.next()) }
            XCTAssertNotNil(restore(noise, s))
        }
        var other = s
        other.policy = .batchReservoir
        XCTAssertEqual(field(restore(bytes, other)), "policy")
        other = s
        other.capacity = 20
        XCTAssertEqual(field(restore(bytes, other)), "samples count")
        other = s
        other.pseudoEpochs = 2
        XCTAssertEqual(field(restore(bytes, other)), "pseudo_epochs")
        var badVersion = bytes
        badVersion[0] = 9
        XCTAssertEqual(field(restore(badVersion, s)), "buffer format")
    }

    func testExpectedBatchesIsNilForReservoirs() {
        XCTAssertNil(SampleBuffer.expectedBatches(totalSamples: 10, settings: settings(.reservoir, capacity: 5, watermark: 1, batch: 2)))
        XCTAssertNil(SampleBuffer.expectedBatches(totalSamples: 10, settings: settings(.batchReservoir, capacity: 5, watermark: 1, batch: 2)))
        XCTAssertEqual(SampleBuffer.expectedBatches(totalSamples: 10, settings: settings(.fifo, capacity: 5, watermark: 1, batch: 3)), 4)
        XCTAssertEqual(SampleBuffer.expectedBatches(totalSamples: 0, settings: settings(.firo, capacity: 5, watermark: 1, batch: 3)), 0)
    }
}
