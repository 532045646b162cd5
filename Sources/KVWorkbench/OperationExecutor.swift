import KVStore
import KVWorkloads
import Synchronization

/// One thread's operations, from the loop that issues them to the store call:
/// the load and run loops, and the executor that makes each operation's key and
/// value, times it and records it. Everything an operation runs in the workbench
/// is in this file (`docs/lsm-format.md` traces a put and a get through it).
extension Workbench {
    /// Inserts this thread's share of the records, in the workload's load order.
    @inlinable
    static func loadLoop<Store: KeyValueStore>(store: Store, context: RunContext, thread: Int,
                                               recorder: inout ThreadRecorder, progress: PhaseProgress) {
        let configuration = context.configuration
        var order = LoadOrderStream(order: configuration.workload.loadOrder, recordCount: UInt64(configuration.records),
                                    seed: configuration.seed, thread: thread, threadCount: configuration.threads)
        var executor = OperationExecutor(store: store, context: context, thread: thread)
        var pacer = configuration.pacesLoad ? context.makePacer(thread: thread, threadCount: configuration.threads, start: recorder.phaseStart) : nil
        var batch = ProgressBatch(progress, checksEveryOperation: pacer != nil)
        while let recordID = order.next() {
            executor.perform(Operation(kind: .insert, recordID: recordID, scanLength: 0), recorder: &recorder, pacer: &pacer)
            if batch.countAndCheckStop() { break }
        }
        batch.flush()
    }

    /// Issues this thread's run-phase operations until its share of the count or the deadline is reached.
    @inlinable
    static func runLoop<Store: KeyValueStore>(store: Store, context: RunContext, stream: inout OperationStream, thread: Int,
                                              recorder: inout ThreadRecorder, progress: PhaseProgress, budget: OperationBudget) {
        let configuration = context.configuration
        let special = configuration.workload.special
        var executor = OperationExecutor(store: store, context: context, thread: thread)
        let isWriter = special == .readWhileWriting && thread == 0
        let workers = special == .readWhileWriting ? configuration.threads - 1 : configuration.threads
        let worker = special == .readWhileWriting ? thread - 1 : thread
        var pacer: Pacer?
        if isWriter {
            pacer = Pacer(rate: configuration.writerRate, start: recorder.phaseStart, offset: 0)
        } else {
            pacer = context.makePacer(thread: worker, threadCount: workers, start: recorder.phaseStart)
        }
        let total: Int
        let deadline: UInt64?
        switch budget {
        case .warmup:
            total = configuration.warmupOperations
            deadline = configuration.warmupSeconds.map { recorder.phaseStart &+ UInt64($0 * 1e9) }
        case .measured:
            total = configuration.operations
            deadline = configuration.durationSeconds.map { recorder.phaseStart &+ UInt64($0 * 1e9) }
        }
        let share = isWriter ? Int.max : total / workers + (worker < total % workers ? 1 : 0)
        var issued = 0
        if special == .readSequential {
            executor.sweep(limit: deadline == nil ? share : Int.max, deadline: deadline, recorder: &recorder, progress: progress)
            return
        }
        var batch = ProgressBatch(progress, checksEveryOperation: pacer != nil)
        while true {
            if isWriter {
                // At least one write, even when the readers finish before this thread is scheduled.
                if issued > 0 && context.allReadersDone.load(ordering: .relaxed) { break }
            } else if let deadline {
                if LatencyClock.now() >= deadline { break }
            } else if issued >= share {
                break
            }
            let operation = isWriter ? context.writerOperation(random: &executor.random) : stream.next()
            executor.perform(operation, recorder: &recorder, pacer: &pacer)
            issued &+= 1
            if batch.countAndCheckStop() { break }
        }
        batch.flush()
        if !isWriter && special == .readWhileWriting {
            if context.readersDone.add(1, ordering: .relaxed).newValue == workers {
                context.allReadersDone.store(true, ordering: .relaxed)
            }
        }
        executor.finish(into: context)
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
    /// YCSB mode: keys, records, and the one-field switches (`readallfields`, `writeallfields`).
    @usableFromInline let ycsbMode: Bool
    @usableFromInline let ycsbKeys: YCSBKeyBuilder
    @usableFromInline var records: YCSBRecordBuilder?
    @usableFromInline let readOneField: Bool
    @usableFromInline let writeOneField: Bool
    /// Field lengths drawn while building records (this thread's own stream).
    @usableFromInline var fieldRandom: WorkloadRandom

    @inlinable
    init(store: Store, context: RunContext, thread: Int = 0) {
        self.store = store
        self.context = context
        loadedRecords = UInt64(context.configuration.records)
        keyEncoder = context.keyEncoder
        valueGenerator = context.valueGenerator
        random = WorkloadRandom(seed: context.configuration.seed ^ 0x5752_4954_4552)
        fieldRandom = WorkloadRandom(seed: WorkloadRandom.derive(context.configuration.seed ^ 0x4649_454C_44, stream: UInt64(thread)))
        if let keys = context.ycsbKeys, let builder = context.recordBuilder {
            ycsbMode = true
            ycsbKeys = keys
            records = builder
            key = keys.makeBuffer()
            value = builder.makeBuffer()
            readOneField = !builder.layout.readAllFields
            writeOneField = !builder.layout.writeAllFields
        } else {
            ycsbMode = false
            ycsbKeys = YCSBKeyBuilder(hashed: false, zeroPadding: 0)
            records = nil
            key = context.keyEncoder.key(0)
            value = Bytes(repeating: 0, count: context.configuration.valueSize)
            readOneField = false
            writeOneField = false
        }
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
        if ycsbMode {
            performYCSB(operation, intended: intended, recorder: &recorder, pacer: pacer)
            return
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
        complete(operation, start: start, end: end, intended: intended, recorder: &recorder, open: pacer != nil)
    }

    /// After an operation: acknowledges an insert beyond the loaded records, records the latency
    /// (from the intended start in open loop, with the service time beside it).
    @inlinable @inline(__always)
    func complete(_ operation: Operation, start: UInt64, end: UInt64, intended: UInt64, recorder: inout ThreadRecorder, open: Bool) {
        if operation.kind == .insert && operation.recordID >= loadedRecords {
            context.insertCounter.acknowledge(operation.recordID)
        }
        if open && recorder.openLoop {
            recorder.record(operation.kind, latency: end &- intended, end: end)
            recorder.recordService(operation.kind, end &- start)
        } else {
            recorder.record(operation.kind, latency: end &- start, end: end)
        }
    }

    /// YCSB mode: the operation as YCSB's CoreWorkload and a key-value binding perform it. Keys are
    /// YCSB's names, values whole records; an update with `writeallfields=false` reads the record and
    /// writes it back with one field changed; READ-MODIFY-WRITE is a read then that update, each part
    /// also recorded under READ and UPDATE (YCSB's accounting).
    @inlinable
    mutating func performYCSB(_ operation: Operation, intended: UInt64, recorder: inout ThreadRecorder, pacer: Pacer?) {
        ycsbKeys.write(operation.recordID, into: &key)
        let kind = operation.kind
        if kind == .insert || (!writeOneField && (kind == .update || kind == .readModifyWrite)) {
            records!.build(&value, recordID: operation.recordID, version: version, random: &fieldRandom)
            version &+= 1
        }
        let start = clock.now()
        // READ-MODIFY-WRITE: 1 while reading, 2 once the update started (its read part ended at `middle`).
        var stage = 0
        var middle: UInt64 = 0
        var readFound = false
        var updateFound = false
        var threw = false
        do {
            switch kind {
            case .read:
                if try !readRecord(field: Int(operation.field), recorder: &recorder) { recorder.recordNotFound(.read) }
            case .update:
                if try !updateRecord(operation) { recorder.recordNotFound(.update) }
            case .insert:
                try store.put(key, value)
            case .delete:
                try store.delete(key)
                deleted.insert(operation.recordID)
            case .scan:
                var returned: UInt64 = 0
                let one = readOneField
                let field = Int(operation.field)
                _ = try store.scan(from: key, limit: operation.scanLength) { _, value in
                    returned &+= UInt64(one ? (YCSBRecordBuilder.fieldRange(field, in: value)?.count ?? value.count) : value.count)
                }
                recorder.bytesReturned &+= returned
            case .readModifyWrite:
                stage = 1
                readFound = try readRecord(field: Int(operation.field), recorder: &recorder)
                middle = clock.now()
                stage = 2
                if readFound { updateFound = try updateRecord(operation) }
                if !readFound || !updateFound { recorder.recordNotFound(.readModifyWrite) }
            }
        } catch {
            threw = true
            recorder.recordError(kind, error)
        }
        let end = clock.now()
        if stage == 1 {
            recorder.recordPart(.read, latency: end &- start, notFound: false, failed: true)
        } else if stage == 2 {
            recorder.recordPart(.read, latency: middle &- start, notFound: !readFound, failed: false)
            if readFound { recorder.recordPart(.update, latency: end &- middle, notFound: !updateFound && !threw, failed: threw) }
        }
        complete(operation, start: start, end: end, intended: intended, recorder: &recorder, open: pacer != nil)
    }

    /// YCSB read of the record under `key`: all fields, or (`readallfields=false`) one; false when absent.
    @inlinable
    mutating func readRecord(field: Int, recorder: inout ThreadRecorder) throws(StoreError) -> Bool {
        let one = readOneField
        guard let length = try store.withValue(forKey: key, { value in
            one ? (YCSBRecordBuilder.fieldRange(field, in: value)?.count ?? value.count) : value.count
        }) else { return false }
        recorder.bytesReturned &+= UInt64(length)
        return true
    }

    /// YCSB update: the whole new record (`writeallfields=true`, already in `value`), or a read of the
    /// record and a write of it with one field changed; false when the record is absent (nothing written).
    @inlinable
    mutating func updateRecord(_ operation: Operation) throws(StoreError) -> Bool {
        guard writeOneField else {
            try store.put(key, value)
            return true
        }
        var record = Bytes()
        swap(&record, &value)
        defer { swap(&record, &value) }
        let found = try store.withValue(forKey: key) { existing -> Bool in
            record.removeAll(keepingCapacity: true)
            record.append(contentsOf: existing)
            return true
        }
        guard found != nil else { return false }
        records!.changeField(Int(operation.field), in: &record, recordID: operation.recordID, version: version,
                             random: &fieldRandom)
        version &+= 1
        try store.put(key, record)
        return true
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
