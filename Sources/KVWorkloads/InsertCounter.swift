import Synchronization

/// Shared, thread-safe source of new record ids for inserts, and the readable horizon.
///
/// YCSB D and E insert new records beyond the loaded ones; `latest` reads follow the newest insert
/// that is readable. Threads acknowledge out of order, so the horizon only advances over a gap-free
/// prefix: an acknowledgement stores `id + 1` into slot `id mod window` (the stored value names the id,
/// so no slot ever needs clearing), and whoever wins a try-flag advances the horizon while the next
/// slot holds the matching value. No lock is ever waited on.
///
/// Callers must acknowledge every claimed id (also when the insert failed), and at most
/// `window` (65,536) ids may be claimed but not acknowledged at a time (one per thread in practice).
public final class InsertCounter: @unchecked Sendable {
    // @unchecked: `slots` is a pointer to Atomic values allocated in init and freed in deinit;
    // every access to it goes through those atomics.
    @usableFromInline static let window: UInt64 = 1 << 16
    @usableFromInline let nextID: Atomic<UInt64>
    @usableFromInline let readable: Atomic<UInt64>
    @usableFromInline let advancing: Atomic<Bool>
    @usableFromInline let slots: UnsafeMutablePointer<Atomic<UInt64>>

    /// A counter whose first claimed id is `start`; ids below `start` are readable.
    public init(start: UInt64) {
        nextID = Atomic(start)
        readable = Atomic(start)
        advancing = Atomic(false)
        slots = UnsafeMutablePointer<Atomic<UInt64>>.allocate(capacity: Int(InsertCounter.window))
        for index in 0..<Int(InsertCounter.window) {
            (slots + index).initialize(to: Atomic(0))
        }
    }

    deinit {
        slots.deinitialize(count: Int(InsertCounter.window))
        slots.deallocate()
    }

    /// The next new record id (each id is handed out once).
    @inlinable
    public func claim() -> UInt64 {
        nextID.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Marks `id` as written: the horizon advances over every id below it that is acknowledged too.
    public func acknowledge(_ id: UInt64) {
        let horizon = readable.load(ordering: .sequentiallyConsistent)
        guard id >= horizon else { return }
        precondition(id - horizon < InsertCounter.window,
                     "More than 65,536 inserts are claimed but unacknowledged; acknowledge every claimed id.")
        slots[Int(id & (InsertCounter.window - 1))].store(id &+ 1, ordering: .sequentiallyConsistent)
        while true {
            guard advancing.compareExchange(
                expected: false, desired: true, ordering: .sequentiallyConsistent).exchanged
            else { return }
            var next = readable.load(ordering: .sequentiallyConsistent)
            while slots[Int(next & (InsertCounter.window - 1))].load(ordering: .sequentiallyConsistent) == next &+ 1 {
                next &+= 1
            }
            readable.store(next, ordering: .sequentiallyConsistent)
            advancing.store(false, ordering: .sequentiallyConsistent)
            // An acknowledgement that lost the flag race while we scanned is picked up here.
            if slots[Int(next & (InsertCounter.window - 1))].load(ordering: .sequentiallyConsistent) != next &+ 1 {
                return
            }
        }
    }

    /// Ids below this are acknowledged and safe to read.
    @inlinable
    public var readableCount: UInt64 {
        readable.load(ordering: .acquiring)
    }

    /// Ids below this have been claimed (or loaded).
    public var claimedCount: UInt64 {
        nextID.load(ordering: .relaxed)
    }
}
