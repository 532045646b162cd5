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
    /// YCSB mode: the key names and the record builder every executor copies (nil outside YCSB mode).
    @usableFromInline let ycsbKeys: YCSBKeyBuilder?
    @usableFromInline let recordBuilder: YCSBRecordBuilder?
    @usableFromInline let insertCounter: InsertCounter
    @usableFromInline let deletedRecords = Mutex<Set<UInt64>>([])
    /// readwhilewriting: set by the last reader to finish; the writer stops when it sees it.
    @usableFromInline let allReadersDone = Atomic<Bool>(false)
    /// readwhilewriting: how many readers have finished their share.
    @usableFromInline let readersDone = Atomic<Int>(0)
    private let warnings = Mutex<[String]>([])

    /// Mean key length (computed once: in YCSB mode it samples the key names).
    @usableFromInline let keyBytes: Double

    @usableFromInline
    init(configuration: BenchmarkConfiguration) throws(WorkloadError) {
        self.configuration = configuration
        keyBytes = configuration.keyBytes
        let ycsb = configuration.workload.ycsb
        // In YCSB mode keys are YCSB's names; the record-order encoder is kept at its default size, unused.
        keyEncoder = try KeyEncoder(keySize: ycsb == nil ? configuration.keySize : 16)
        valueGenerator = ValueGenerator(valueSize: ycsb == nil ? configuration.valueSize : 0, seed: configuration.seed)
        ycsbKeys = ycsb?.keys
        recordBuilder = ycsb.map { YCSBRecordBuilder(layout: $0.layout, seed: configuration.seed) }
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
                               threadCount: workers, insertCursor: insertCounter, operationCount: configuration.operations)
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
