import KVStore
import KVWorkloads
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// State shared by every thread of one engine run: the configuration, the
/// key and value generators, the counter of inserted records and of deleted ones.
public final class RunContext: Sendable {
    public let configuration: BenchmarkConfiguration
    @usableFromInline let keyEncoder: KeyEncoder
    @usableFromInline let valueGenerator: ValueGenerator
    @usableFromInline let insertCounter: InsertCounter
    @usableFromInline let deletedRecords = Mutex<Set<UInt64>>([])
    /// readwhilewriting: set by the last reader to finish; the writer stops when it sees it.
    @usableFromInline let allReadersDone = Atomic<Bool>(false)
    /// readwhilewriting: how many readers have finished their share.
    @usableFromInline let readersDone = Atomic<Int>(0)
    private let warnings = Mutex<[String]>([])

    @usableFromInline
    init(configuration: BenchmarkConfiguration) throws(WorkloadError) {
        self.configuration = configuration
        keyEncoder = try KeyEncoder(keySize: configuration.keySize)
        valueGenerator = ValueGenerator(valueSize: configuration.valueSize, seed: configuration.seed)
        insertCounter = InsertCounter(start: UInt64(configuration.records))
    }

    /// Clears the per-phase coordination flags (readers finished) before a phase starts.
    @usableFromInline
    func beginPhase() {
        allReadersDone.store(false, ordering: .relaxed)
        readersDone.store(0, ordering: .relaxed)
    }

    /// The run-phase operation stream of one thread.
    @usableFromInline
    func makeStream(thread: Int) -> OperationStream {
        let workers = configuration.workload.special == .readWhileWriting ? configuration.threads - 1 : configuration.threads
        return OperationStream(definition: configuration.workload, recordCount: UInt64(configuration.records),
                               seed: configuration.seed, thread: max(0, thread - (configuration.threads - workers)),
                               threadCount: workers, insertCursor: insertCounter)
    }

    /// The open-loop schedule of one thread, or nil in closed loop.
    @usableFromInline
    func makePacer(thread: Int, threadCount: Int, start: UInt64) -> Pacer? {
        guard let rate = configuration.targetRate else { return nil }
        let perThread = rate / Double(threadCount)
        return Pacer(rate: perThread, start: start, offset: UInt64(Double(thread) * 1e9 / rate))
    }

    /// The next update of the single writer of `readwhilewriting`: a uniform existing record.
    @usableFromInline
    func writerOperation(random: inout WorkloadRandom) -> Operation {
        Operation(kind: .update, recordID: random.next(below: UInt64(configuration.records)), scanLength: 0)
    }

    /// Records currently live: loaded plus inserted, less those deleted.
    func liveRecordCount() -> UInt64 {
        let deleted = UInt64(deletedRecords.withLock { $0.count })
        let readable = insertCounter.readableCount
        return readable > deleted ? readable - deleted : 0
    }

    /// Prints a warning on standard error once and keeps it for the report.
    @usableFromInline
    func warn(_ message: String) {
        let isNew = warnings.withLock { list -> Bool in
            if list.contains(message) { return false }
            list.append(message)
            return true
        }
        if isNew { writeStandardError("warning: \(message)\n") }
    }
}

/// Writes text to standard error, unbuffered.
public func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
}

/// The fixed-interval schedule of an open-loop thread: operation i is due at
/// `start + offset + i / rate`, whether or not the previous one has finished.
public struct Pacer: Sendable {
    @usableFromInline let intervalNanoseconds: Double
    @usableFromInline let origin: UInt64
    @usableFromInline var issued: Double = 0

    @inlinable
    init(rate: Double, start: UInt64, offset: UInt64) {
        intervalNanoseconds = 1e9 / rate
        origin = start &+ offset
    }

    /// The intended start of the next operation.
    @inlinable
    mutating func nextIntended() -> UInt64 {
        let due = origin &+ UInt64(issued * intervalNanoseconds)
        issued += 1
        return due
    }
}

/// Performs operations against one store from one thread, timing each.
@usableFromInline
struct OperationExecutor<Store: KeyValueStore> {
    @usableFromInline let store: Store
    @usableFromInline let context: RunContext
    @usableFromInline let loadedRecords: UInt64
    @usableFromInline let keyEncoder: KeyEncoder
    @usableFromInline let valueGenerator: ValueGenerator
    @usableFromInline var key: Bytes
    @usableFromInline var value: Bytes
    @usableFromInline var random: WorkloadRandom
    @usableFromInline var version: UInt64 = 1
    @usableFromInline var deleted: Set<UInt64> = []
    @usableFromInline let clock = LatencyClock.reader

    @inlinable
    init(store: Store, context: RunContext) {
        self.store = store
        self.context = context
        loadedRecords = UInt64(context.configuration.records)
        keyEncoder = context.keyEncoder
        valueGenerator = context.valueGenerator
        key = context.keyEncoder.key(0)
        value = Bytes(repeating: 0, count: context.configuration.valueSize)
        random = WorkloadRandom(seed: context.configuration.seed ^ 0x5752_4954_4552)
    }

    /// Performs one operation and records its latency (from its intended start in open loop).
    @inlinable
    mutating func perform(_ operation: Operation, recorder: inout ThreadRecorder, pacer: inout Pacer?) {
        var intended: UInt64 = 0
        if pacer != nil {
            intended = pacer!.nextIntended()
            waitUntil(intended)
            if Interrupt.isRequested { intended = min(intended, clock.now()) }
        }
        keyEncoder.replaceID(operation.recordID, in: &key)
        switch operation.kind {
        case .update, .insert, .readModifyWrite:
            valueGenerator.fill(&value, recordID: operation.recordID, version: version)
            version &+= 1
        case .read, .delete, .scan:
            break
        }
        let start = clock.now()
        do {
            switch operation.kind {
            case .read:
                if let length = try store.withValue(forKey: key, { $0.count }) {
                    recorder.bytesReturned &+= UInt64(length)
                } else {
                    recorder.recordNotFound(.read)
                }
            case .update:
                try store.put(key, value)
            case .insert:
                try store.put(key, value)
            case .delete:
                try store.delete(key)
                deleted.insert(operation.recordID)
            case .scan:
                var returned: UInt64 = 0
                _ = try store.scan(from: key, limit: operation.scanLength) { _, value in returned &+= UInt64(value.count) }
                recorder.bytesReturned &+= returned
            case .readModifyWrite:
                if try store.withValue(forKey: key, { $0.count }) == nil { recorder.recordNotFound(.readModifyWrite) }
                try store.put(key, value)
            }
        } catch {
            recorder.recordError(operation.kind, error)
        }
        let end = clock.now()
        if operation.kind == .insert && operation.recordID >= loadedRecords {
            context.insertCounter.acknowledge(operation.recordID)
        }
        if pacer != nil && recorder.openLoop {
            recorder.record(operation.kind, latency: end &- intended, end: end)
            recorder.recordService(operation.kind, end &- start)
        } else {
            recorder.record(operation.kind, latency: end &- start, end: end)
        }
    }

    /// `readseq`: reads entries in key order through cursors, one `read` per entry, restarting at the end.
    @inlinable
    mutating func sweep(limit: Int, deadline: UInt64?, recorder: inout ThreadRecorder, progress: PhaseProgress) {
        var remaining = limit
        var batch = ProgressBatch(progress)
        var finished = false
        while remaining > 0 && !finished {
            do {
                let visited = try store.withCursor { (cursor: inout Store.Cursor) throws(StoreError) -> Int in
                    var count = 0
                    var start = clock.now()
                    try cursor.seekToFirst()
                    while cursor.isValid && remaining > 0 {
                        let length = cursor.withCurrent { _, value in value.count }
                        try cursor.next()
                        let end = clock.now()
                        recorder.bytesReturned &+= UInt64(length)
                        recorder.record(.read, latency: end &- start, end: end)
                        start = clock.now()
                        remaining -= 1
                        count += 1
                        if batch.countAndCheckStop(deadlineReached: { deadline.map { end >= $0 } == true }) {
                            finished = true
                            break
                        }
                    }
                    return count
                }
                if visited == 0 { break }
            } catch {
                recorder.recordError(.read, error)
                break
            }
        }
        batch.flush()
    }

    /// Hands this thread's deleted record ids to the shared context.
    @inlinable
    func finish(into context: RunContext) {
        guard !deleted.isEmpty else { return }
        context.deletedRecords.withLock { $0.formUnion(deleted) }
    }
}
