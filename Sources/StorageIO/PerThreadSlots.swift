#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import KVStore
import Synchronization

/// One slot per thread for one owner (a store's reader slots): a pthread key whose
/// value points at the calling thread's slot, made on that thread's first call.
/// The slots are kept here, so they live as long as this object (or until `close()`);
/// `close()` or `deinit` deletes the key.
public final class PerThreadSlots<Slot: AnyObject & Sendable>: Sendable {
    @usableFromInline let key: pthread_key_t
    private let slots = Mutex<[Slot]>([])
    private let isClosed = Atomic<Bool>(false)

    /// Creates the key; `path` names the owner in an error.
    public init(path: String) throws(StoreError) {
        var key = pthread_key_t()
        let code = pthread_key_create(&key, nil)
        guard code == 0 else { throw .io(operation: "pthread_key_create", path: path, errno: code) }
        self.key = key
    }

    deinit { close() }

    /// The calling thread's slot; `make` makes it on the thread's first call.
    @inlinable @inline(__always)
    public func slot<Failure: Error>(orMake make: () throws(Failure) -> Slot) throws(Failure) -> Slot {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<Slot>.fromOpaque(existing).takeUnretainedValue()
        }
        return try add(make)
    }

    @usableFromInline
    func add<Failure: Error>(_ make: () throws(Failure) -> Slot) throws(Failure) -> Slot {
        let slot = try make()
        slots.withLock { $0.append(slot) }
        pthread_setspecific(key, Unmanaged.passUnretained(slot).toOpaque())
        return slot
    }

    /// Every slot made so far.
    public var all: [Slot] { slots.withLock { $0 } }

    /// Deletes the key and lets the slots go; later calls do nothing. No thread may ask
    /// for its slot afterwards.
    public func close() {
        let (exchanged, _) = isClosed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        guard exchanged else { return }
        pthread_key_delete(key)
        slots.withLock { $0.removeAll() }
    }
}
