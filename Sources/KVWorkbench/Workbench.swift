import KVResults
import KVStore
import KVWorkloads
import StorageIO
import Synchronization

/// Drives one engine through a workload's load and run phases and measures
/// each phase. Generic over the engine, so the hot loop is specialized for
/// each engine type (no existential on the hot path).
public enum Workbench {
    /// Opens `Store` in `configuration.directory`, runs the load phase, the
    /// optional warm-up and the run phase (or those `configuration.phases` selects),
    /// closes the store, and returns what was measured.
    @inlinable
    public static func run<Store: KeyValueStore>(_ storeType: Store.Type, _ configuration: BenchmarkConfiguration) throws -> RunResult {
        try configuration.validate()
        LatencyClock.calibrate()
        let options = StoreOptions(directory: configuration.directory, durability: configuration.durability,
                                   memoryBudget: configuration.memoryBudget, createIfMissing: configuration.phases != .runOnLoaded,
                                   settings: configuration.engineSettings)
        let store = try Store.open(options)
        var phases: [PhaseResult] = []
        do {
            let context = try RunContext(configuration: configuration)
            if configuration.phases != .runOnLoaded {
                phases.append(measurePhase("load", store: store, context: context) { thread, recorder, progress in
                    loadLoop(store: store, context: context, thread: thread, recorder: &recorder, progress: progress)
                })
            }
            if configuration.workload.hasRunPhase && configuration.phases != .loadOnly && !Interrupt.isRequested {
                let streams = Mutex((0..<configuration.threads).map { context.makeStream(thread: $0) })
                if configuration.warmupOperations > 0 || configuration.warmupSeconds != nil {
                    _ = measurePhase("warmup", store: store, context: context) { thread, recorder, progress in
                        var stream = streams.withLock { $0[thread] }
                        runLoop(store: store, context: context, stream: &stream, thread: thread, recorder: &recorder,
                                progress: progress, budget: .warmup)
                        streams.withLock { $0[thread] = stream }
                    }
                }
                if !Interrupt.isRequested {
                    phases.append(measurePhase("run", store: store, context: context) { thread, recorder, progress in
                        var stream = streams.withLock { $0[thread] }
                        runLoop(store: store, context: context, stream: &stream, thread: thread, recorder: &recorder,
                                progress: progress, budget: .measured)
                        streams.withLock { $0[thread] = stream }
                    })
                }
            }
        } catch {
            try? store.close()
            throw error
        }
        try store.close()
        return RunResult(engine: Store.engineName, engineVersion: Store.engineVersion, engineSettings: store.settingsReport,
                         parameters: configuration.parameters, phases: phases, partial: Interrupt.isRequested)
    }

    /// How many operations a run loop may issue.
    @usableFromInline
    enum OperationBudget { case warmup, measured }

    // MARK: - Phase measurement

    /// Runs `body` on every thread, with counters snapshotted around it, and builds the phase's result.
    @usableFromInline
    static func measurePhase<Store: KeyValueStore>(
        _ name: String, store: Store, context: RunContext,
        body: @escaping @Sendable (Int, inout ThreadRecorder, PhaseProgress) -> Void
    ) -> PhaseResult {
        let configuration = context.configuration
        context.beginPhase()
        let threadCount = configuration.threads
        let expected: UInt64? = name == "load" ? UInt64(configuration.records) : (configuration.durationSeconds == nil ? UInt64(configuration.operations) : nil)
        let progress = PhaseProgress(phase: name, expectedOperations: expected, deadlineSeconds: name == "load" ? nil : configuration.durationSeconds,
                                     visible: configuration.showProgress)
        let device = BlockDevice.containing(configuration.directory)
        if device != nil { BlockDevice.syncAll() }
        let deviceBefore = device?.sectorsWritten()
        ProcessUsage.resetPeakResident()
        let statisticsBefore = store.statistics()
        let ioBefore = ProcessIOCounters.current()
        let cpuBefore = ProcessUsage.cpuSeconds()
        let monotonicStart = Monotonic.nanoseconds()
        let start = LatencyClock.now()
        progress.start(at: start)
        let sampler = StatisticsSampler(store: store, phaseStart: start)
        let recorders = Mutex<[ThreadRecorder]>([])
        let openLoop = configuration.targetRate != nil && (name != "load" || configuration.pacesLoad)
        let ycsbAccounting = configuration.workload.ycsb != nil
        ThreadGroup.run(count: threadCount) { thread in
            var recorder = ThreadRecorder(openLoop: openLoop, phaseStart: start, ycsbAccounting: ycsbAccounting)
            body(thread, &recorder, progress)
            recorder.finish()
            recorders.withLock { $0.append(recorder) }
        }
        let end = LatencyClock.now()
        let monotonicElapsed = Monotonic.nanoseconds() - monotonicStart
        if monotonicElapsed > 100_000_000 {
            let drift = abs(Double(end - start) - Double(monotonicElapsed)) / Double(monotonicElapsed)
            if drift > 0.005 {
                context.warn("the latency clock (\(LatencyClock.source)) drifted \(Int(drift * 1000) / 10)% from CLOCK_MONOTONIC in the \(name) phase; latencies are suspect")
            }
        }
        let samples = sampler.stop()
        progress.finish()
        let statisticsAfter = store.statistics()
        let ioAfter = ProcessIOCounters.current()
        let cpuAfter = ProcessUsage.cpuSeconds()
        if device != nil { BlockDevice.syncAll() }
        let deviceAfter = device?.sectorsWritten()

        var merged = PhaseMeasurements(openLoop: openLoop)
        for recorder in recorders.withLock({ $0 }) { merged.merge(recorder) }
        if let firstError = merged.firstError {
            context.warn("\(Store.engineName) \(name) phase: operations failed, first error: \(firstError)")
        }
        if merged.clamped > 0 {
            context.warn("\(merged.clamped) latencies above one hour were recorded as one hour")
        }
        let elapsed = Double(end - start) / 1e9
        let userBytes = statisticsAfter.userBytesWritten &- statisticsBefore.userBytesWritten
        let liveBytes = UInt64((Double(context.liveRecordCount()) * (context.keyBytes + configuration.valueBytes)).rounded())
        let diskBytes = FileSystem.allocatedBytes(configuration.directory)
        var result = PhaseResult(
            name: name, elapsedS: elapsed, operations: merged.totalOperations,
            throughputOpsS: elapsed > 0 ? Double(merged.totalOperations - merged.totalErrors) / elapsed : 0,
            ops: merged.operationResults(), userBytesWritten: userBytes,
            engineBytesWritten: nil, osWriteBytes: nil, osReadBytes: nil, wchar: nil,
            writeAmpEngine: nil, writeAmpOS: nil, readAmp: nil, readAmpBytes: nil,
            spaceAmp: liveBytes > 0 ? Double(diskBytes) / Double(liveBytes) : nil,
            diskBytes: diskBytes, liveBytes: liveBytes, compaction: nil,
            peakRSSBytes: ProcessUsage.peakResidentBytes(), cpuS: cpuAfter - cpuBefore,
            timeseries: [], engineCounters: statisticsAfter.counters
        )
        // YCSB mode only: another pass over every histogram (with READ-MODIFY-WRITE's parts merged in).
        if configuration.workload.ycsb != nil { result.ycsbOperations = merged.ycsbOperations() }
        if let ioBefore, let ioAfter {
            let written = (ioAfter.writeBytes &- ioAfter.cancelledWriteBytes) &- (ioBefore.writeBytes &- ioBefore.cancelledWriteBytes)
            result.osWriteBytes = Int64(bitPattern: written) < 0 ? 0 : written
            result.osReadBytes = ioAfter.readBytes &- ioBefore.readBytes
            result.wchar = ioAfter.wchar &- ioBefore.wchar
            if merged.bytesReturned > 0 { result.readAmpBytes = Double(ioAfter.readBytes &- ioBefore.readBytes) / Double(merged.bytesReturned) }
        }
        let views = WriteViews(userBytes: userBytes,
                               engineBytes: WriteViews.delta(statisticsBefore.engineBytesWritten, statisticsAfter.engineBytesWritten),
                               issuedBytes: result.wchar, osBytes: result.osWriteBytes,
                               deviceSectors: WriteViews.delta(deviceBefore, deviceAfter))
        result.engineBytesWritten = views.engineBytes
        result.engineWriteSource = views.engineSource
        result.writeAmpEngine = views.engine
        result.writeAmpIssued = views.issued
        result.writeAmpOS = views.os
        result.deviceWriteBytes = views.deviceBytes
        result.writeAmpDevice = views.device
        result.deviceName = views.deviceBytes == nil ? nil : device?.name
        if let lookupsAfter = statisticsAfter.pointLookups, let lookupsBefore = statisticsBefore.pointLookups,
           let probesAfter = statisticsAfter.lookupProbes, let probesBefore = statisticsBefore.lookupProbes,
           lookupsAfter > lookupsBefore {
            result.readAmp = Double(probesAfter &- probesBefore) / Double(lookupsAfter &- lookupsBefore)
        }
        if let after = statisticsAfter.compaction, let before = statisticsBefore.compaction {
            result.compaction = CompactionResult(
                count: after.count &- before.count, bytesRead: after.bytesRead &- before.bytesRead,
                bytesWritten: after.bytesWritten &- before.bytesWritten, wallS: after.wallSeconds - before.wallSeconds,
                cpuS: after.cpuSeconds - before.cpuSeconds, stallS: after.stallSeconds - before.stallSeconds)
        }
        result.timeseries = merged.intervals.enumerated().map { index, interval in
            let sample = index < samples.count ? samples[index] : nil
            let previous = index > 0 && index - 1 < samples.count ? samples[index - 1] : nil
            return TimeSeriesPoint(
                tS: min(Double(index + 1), elapsed), ops: interval.operations,
                p99Us: interval.operations > 0 ? Double(interval.latencies.valueAtPercentile(99)) / 1000 : nil,
                compactions: sample.map { $0.compactions &- (previous?.compactions ?? statisticsBefore.compaction?.count ?? 0) },
                stallS: sample.map { $0.stallSeconds - (previous?.stallSeconds ?? statisticsBefore.compaction?.stallSeconds ?? 0) }
            )
        }
        return result
    }
}
