#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import StorageFaults
import StorageIO

/// What the crash-test child does: opens the store and runs a write-heavy mix
/// (puts, overwrites, deletes, batches) until it is killed, writing each
/// operation's intent to standard output before issuing it and its
/// acknowledgement after it returns. With several threads, each runs its own mix
/// over its own keys (those ≡ thread mod threads) with its own sequence numbers
/// (≡ start + thread mod threads), so the writes commit concurrently (under `fsync`,
/// through the engine's group commit) and each key's writes stay in one order.
///
/// Lines (each written with one `write(2)`, so a kill never leaves half an intent):
/// `R` ready (store open); `I <seq> P <key>` / `I <seq> D <key>` /
/// `I <seq> B P<key>,D<key>,...` intent; `A <seq>` acknowledged;
/// `F <seq> <message>` the operation failed (not acknowledged); `O <kind> <message>` open failed.
public enum CrashWorker {
    /// Settings of one worker run.
    public struct Settings: Sendable {
        public var directory: String
        public var durability: Durability
        public var memoryBudget: Int
        public var keySpace: Int
        public var startSequence: UInt64
        public var seed: UInt64
        /// Engine settings (`--setting name=value`) the store is opened with.
        public var engineSettings: [String: String] = [:]
        /// Writer threads, each with its own keys and sequence numbers (`crash-test --threads`).
        public var threads = 1

        public init(directory: String, durability: Durability, memoryBudget: Int, keySpace: Int, startSequence: UInt64, seed: UInt64) {
            self.directory = directory
            self.durability = durability
            self.memoryBudget = memoryBudget
            self.keySpace = keySpace
            self.startSequence = startSequence
            self.seed = seed
        }
    }

    /// Runs the mix against a `Store` until killed; returns an exit status only when something failed.
    /// `armed` runs once the store is open (used to arm an in-process power loss).
    public static func run<Store: KeyValueStore>(_ type: Store.Type, _ settings: Settings, armed: () -> Void = {}) -> Int32 {
        let output = LineWriter(descriptor: 1)
        let options = StoreOptions(directory: settings.directory, durability: settings.durability,
                                   memoryBudget: settings.memoryBudget, createIfMissing: true, settings: settings.engineSettings)
        let store: Store
        do {
            store = try Store.open(options)
        } catch {
            output.write("O \(Self.kind(of: error)) \(error.description)\n")
            return 2
        }
        output.write("R\n")
        armed()
        let threads = max(1, settings.threads)
        for thread in 1..<threads {
            let mix = CrashMix(seed: settings.seed, startSequence: settings.startSequence, keySpace: settings.keySpace, thread: thread, threads: threads)
            _ = OSThread.start {
                var own = mix
                while true {
                    do {
                        try own.step(store, emit: output.write)
                    } catch {
                        _exit(3)
                    }
                }
            }
        }
        var mix = CrashMix(seed: settings.seed, startSequence: settings.startSequence, keySpace: settings.keySpace, thread: 0, threads: threads)
        while true {
            do {
                try mix.step(store, emit: output.write)
            } catch {
                return 3
            }
        }
    }

    static func kind(of error: StoreError) -> String {
        if case .corruption = error { return "corruption" }
        return "error"
    }
}

/// Writes whole lines to a file descriptor with one `write(2)` each (atomic on a pipe below PIPE_BUF).
struct LineWriter {
    let descriptor: Int32

    func write(_ line: String) {
        var text = line
        text.withUTF8 { buffer in
            var done = 0
            while done < buffer.count {
                let result = Glibc.write(descriptor, buffer.baseAddress! + done, buffer.count - done)
                if result < 0 {
                    if errno == EINTR { continue }
                    return
                }
                done += result
            }
        }
    }
}

/// The crash test's operation mix: 55% puts, 20% deletes, 25% batches of 2 to 8
/// distinct keys (a quarter of their entries deletes), uniformly over the key space
/// (over the keys of `thread`, those ≡ thread mod `threads`, when several threads write).
/// Each step writes its intent line, issues the operation, then writes its
/// acknowledgement (or an `F` line and rethrows); sequence numbers step by `threads`.
struct CrashMix: Sendable {
    private var random: SplitMix64
    private(set) var sequence: UInt64
    let keySpace: Int
    let thread: Int
    let threads: Int

    init(seed: UInt64, startSequence: UInt64, keySpace: Int, thread: Int = 0, threads: Int = 1) {
        random = SplitMix64(seed: seed ^ CrashValues.mix(startSequence) ^ CrashValues.mix(UInt64(thread) << 32))
        sequence = startSequence + UInt64(thread)
        self.keySpace = keySpace
        self.thread = thread
        self.threads = threads
    }

    /// A key of this thread, uniformly.
    private mutating func nextKey() -> Int {
        thread + threads * Int(random.next() % UInt64(max(1, keySpace / threads)))
    }

    mutating func step<Store: KeyValueStore>(_ store: Store, emit: (String) -> Void) throws(StoreError) {
        let roll = random.next() % 100
        var line = "I \(sequence) "
        do throws(StoreError) {
            if roll < 55 {
                let key = nextKey()
                line += "P \(key)\n"
                emit(line)
                try store.put(CrashValues.key(key), CrashValues.value(key: key, sequence: sequence))
            } else if roll < 75 {
                let key = nextKey()
                line += "D \(key)\n"
                emit(line)
                try store.delete(CrashValues.key(key))
            } else {
                let count = 2 + Int(random.next() % 7)
                var keys: [Int] = []
                while keys.count < count {
                    let key = nextKey()
                    if !keys.contains(key) { keys.append(key) }
                }
                var batch = WriteBatch()
                var parts: [String] = []
                for key in keys {
                    if random.next() % 4 == 0 {
                        batch.delete(CrashValues.key(key))
                        parts.append("D\(key)")
                    } else {
                        batch.put(CrashValues.key(key), CrashValues.value(key: key, sequence: sequence))
                        parts.append("P\(key)")
                    }
                }
                line += "B " + parts.joined(separator: ",") + "\n"
                emit(line)
                try store.write(batch)
            }
        } catch {
            emit("F \(sequence) \(error.description)\n")
            sequence += UInt64(threads)
            throw error
        }
        emit("A \(sequence)\n")
        sequence += UInt64(threads)
    }
}

extension SplitMix64 {
    /// A number in `0..<bound` (0 when `bound` is 0); the modulo bias is immaterial for the mix.
    mutating func uniform(_ bound: UInt64) -> UInt64 { bound == 0 ? 0 : next() % bound }
}

extension CrashWorker {
    /// Runs the mix with StorageIO's fault layer on: `afterMilliseconds` after the store
    /// is open, a simulated power loss drops everything not synced and kills the process.
    /// With `crashPointOneIn`, every I/O call through StorageIO (from the open on, so
    /// recovery included) is also a crash point firing with probability 1/`crashPointOneIn`;
    /// the point is reported as a line `C <point>` before the power goes out.
    /// For engines whose file I/O goes through StorageIO (the hand-written ones).
    /// With `tornTails`, the power loss keeps a random part of some files' unsynced tails.
    public static func runWithPowerLoss<Store: KeyValueStore>(_ type: Store.Type, _ settings: Settings, afterMilliseconds delay: Int,
                                                              crashPointOneIn: Int? = nil, tornTails: Bool = false) -> Int32 {
        do {
            try FaultInjection.enable(root: settings.directory, graveyard: settings.directory + ".graveyard")
        } catch {
            LineWriter(descriptor: 1).write("O error \(error.description)\n")
            return 2
        }
        if tornTails { FaultInjection.keepTornTails(seed: settings.seed ^ 0x5EED) }
        if let crashPointOneIn {
            FaultInjection.armCrashPoints(oneIn: crashPointOneIn, seed: settings.seed) { point in
                LineWriter(descriptor: 1).write("C \(point)\n")
            }
        }
        return run(type, settings) { armPowerLoss(afterMilliseconds: delay) }
    }

    /// Starts a thread that simulates the power loss after `delay` milliseconds.
    static func armPowerLoss(afterMilliseconds delay: Int) {
        let delay = max(delay, 0)
        _ = OSThread.start {
            var remaining = timespec(tv_sec: delay / 1000, tv_nsec: (delay % 1000) * 1_000_000)
            var request = remaining
            while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
            FaultInjection.powerLossAndKill()
        }
    }
}
