/// Per-thread operation stream for the run phase: the same (definition, record count, seed, thread,
/// thread count) gives the same stream, for every engine.
///
/// `next()` allocates nothing, takes no lock and uses no existential: one 64-bit draw picks the
/// operation (skipped when the mix has one kind), the key chooser draws the record. The shared
/// `InsertCounter` is touched by inserts (claim) and, for `latest` only, by one atomic load of the
/// readable horizon per operation. Uniform, zipfian, hotspot and sequential choose among the
/// `recordCount` loaded records (as YCSB's uniform and hotspot generators do); `latest` follows inserts.
public struct OperationStream: Sendable {
    @usableFromInline var random: WorkloadRandom
    @usableFromInline var chooser: KeyChooser
    /// Cumulative 64-bit thresholds, unused ones UInt64.max: the drawn kind's index is the number of
    /// thresholds at or below the draw (branch-free, so a 50/50 mix costs no mispredicted branch here).
    @usableFromInline let threshold0: UInt64
    @usableFromInline let threshold1: UInt64
    @usableFromInline let threshold2: UInt64
    @usableFromInline let threshold3: UInt64
    @usableFromInline let threshold4: UInt64
    @usableFromInline let kinds: [OperationKind]
    @usableFromInline let onlyKind: OperationKind?
    @usableFromInline let insertCursor: InsertCounter
    @usableFromInline let followsInserts: Bool
    @usableFromInline let maxScanLength: UInt64
    @usableFromInline let minScanLength: UInt64
    @usableFromInline let scanLengthUniform: Bool
    @usableFromInline var scanLengthZipfian: YCSBZipfian?
    /// YCSB mode with one-field reads or updates: the number of fields to choose from (0: no choice drawn).
    @usableFromInline let fieldChoices: UInt64

    /// A stream for thread `thread` of `threadCount`; `insertCursor` is shared by all threads of the phase.
    /// `operationCount` is the run's operation count, from which YCSB's zipfian predicts the inserts
    /// (`operationcount × insertproportion × 2`).
    public init(definition: WorkloadDefinition, recordCount: UInt64, seed: UInt64, thread: Int, threadCount: Int,
                insertCursor: InsertCounter, operationCount: Int = 0) {
        precondition(threadCount > 0 && (0..<threadCount).contains(thread),
                     "Thread index must lie in 0..<threadCount.")
        random = WorkloadRandom(seed: WorkloadRandom.derive(seed, stream: UInt64(thread) &+ 1))
        chooser = KeyChooser(distribution: definition.requestDistribution, itemCount: recordCount, seed: seed,
                             expectedInserts: definition.ycsb?.expectedInserts(operationCount: operationCount) ?? 0)
        if case .sequential = definition.requestDistribution {
            chooser.setSequentialStart(recordCount / UInt64(threadCount) * UInt64(thread))
        }
        let mix = definition.proportions.filter { $0.weight > 0 && $0.weight.isFinite }
        let total = mix.reduce(0.0) { $0 + $1.weight }
        // Merge repeated kinds so at most one entry per kind (six kinds, five thresholds) remains.
        var merged: [OperationWeight] = []
        for entry in mix {
            if let index = merged.firstIndex(where: { $0.kind == entry.kind }) {
                merged[index].weight += entry.weight
            } else {
                merged.append(entry)
            }
        }
        var cumulative = 0.0
        var thresholds = [UInt64](repeating: UInt64.max, count: 5)
        for (index, entry) in merged.dropLast().enumerated() {
            cumulative += entry.weight / total
            thresholds[index] = cumulative >= 1 ? UInt64.max : UInt64(cumulative * 0x1p64)
        }
        threshold0 = thresholds[0]
        threshold1 = thresholds[1]
        threshold2 = thresholds[2]
        threshold3 = thresholds[3]
        threshold4 = thresholds[4]
        kinds = merged.isEmpty ? [.read] : merged.map(\.kind)
        onlyKind = kinds.count == 1 ? kinds[0] : nil
        self.insertCursor = insertCursor
        // YCSB's generators redraw ids beyond the newest record, so they follow inserts too.
        followsInserts = definition.requestDistribution.followsInserts
            || (definition.ycsb != nil && definition.insertsRecords)
        maxScanLength = UInt64(max(1, definition.maxScanLength))
        minScanLength = UInt64(max(1, min(definition.minScanLength, definition.maxScanLength)))
        scanLengthUniform = definition.scanLengthUniform
        scanLengthZipfian = definition.scanLengthZipfian
            ? YCSBZipfian(min: Int64(minScanLength), max: Int64(maxScanLength)) : nil
        if let layout = definition.ycsb?.layout, !layout.readAllFields || !layout.writeAllFields {
            fieldChoices = UInt64(layout.fieldCount)
        } else {
            fieldChoices = 0
        }
    }

    /// The next operation of this thread's stream.
    @inlinable @inline(__always)
    public mutating func next() -> Operation {
        let kind: OperationKind
        if let onlyKind {
            kind = onlyKind
        } else {
            let draw = random.next()
            var index = draw >= threshold0 ? 1 : 0
            index &+= draw >= threshold1 ? 1 : 0
            index &+= draw >= threshold2 ? 1 : 0
            index &+= draw >= threshold3 ? 1 : 0
            index &+= draw >= threshold4 ? 1 : 0
            kind = kinds[min(index, kinds.count &- 1)]
        }
        if kind == .insert {
            return Operation(kind: .insert, recordID: insertCursor.claim(), scanLength: 0)
        }
        // One call site for the key draw, so that it is inlined.
        let record = nextRecord()
        guard kind == .scan else {
            return Operation(kind: kind, recordID: record, scanLength: 0, field: nextField())
        }
        let length: UInt64
        if scanLengthZipfian != nil {
            length = UInt64(scanLengthZipfian!.next(uniform: random.nextDouble()))
        } else if scanLengthUniform {
            length = minScanLength &+ random.next(below: maxScanLength &- minScanLength &+ 1)
        } else {
            length = maxScanLength
        }
        return Operation(kind: .scan, recordID: record, scanLength: Int(length), field: nextField())
    }

    /// YCSB's `fieldchooser`: a uniform field, drawn only when some operation reads or writes one field.
    @inlinable @inline(__always)
    mutating func nextField() -> UInt32 {
        fieldChoices == 0 ? 0 : UInt32(truncatingIfNeeded: random.next(below: fieldChoices))
    }

    @inlinable @inline(__always)
    mutating func nextRecord() -> UInt64 {
        if followsInserts { chooser.setItemCount(insertCursor.readableCount) }
        return chooser.next(random: &random)
    }
}

/// Load-phase order: each record id in `0..<recordCount` exactly once across all threads, sequential or
/// in a seeded random permutation (`IDPermutation`, no O(n) table). Thread t takes positions
/// `t·n/T ..< (t+1)·n/T` of the order.
public struct LoadOrderStream: Sendable {
    @usableFromInline var position: UInt64
    @usableFromInline let end: UInt64
    @usableFromInline let permutation: IDPermutation?

    /// The share of thread `thread` of `threadCount` in the load of `recordCount` records.
    public init(order: WorkloadDefinition.LoadOrder, recordCount: UInt64, seed: UInt64, thread: Int, threadCount: Int) {
        precondition(threadCount > 0 && (0..<threadCount).contains(thread),
                     "Thread index must lie in 0..<threadCount.")
        position = LoadOrderStream.boundary(recordCount, thread, threadCount)
        end = LoadOrderStream.boundary(recordCount, thread + 1, threadCount)
        permutation = order == .random ? IDPermutation(count: recordCount, seed: seed) : nil
    }

    /// Records this thread has left to load.
    public var remaining: UInt64 { end - position }

    /// The next record id to load, or nil when this thread's share is done.
    @inlinable
    public mutating func next() -> UInt64? {
        guard position < end else { return nil }
        let current = position
        position &+= 1
        if let permutation { return permutation.apply(current) }
        return current
    }

    static func boundary(_ count: UInt64, _ thread: Int, _ threadCount: Int) -> UInt64 {
        let product = count.multipliedFullWidth(by: UInt64(thread))
        return UInt64(threadCount).dividingFullWidth(product).quotient
    }
}
