import CLevelDB
import KVStore

/// Owns a `leveldb_options_t` and destroys it in `deinit`. The cache and filter
/// policy it points to are owned by their own handles, which the store keeps
/// alive until after `leveldb_close`.
final class LevelDBOptionsHandle {
    let pointer: OpaquePointer
    init() { pointer = leveldb_options_create() }
    deinit { leveldb_options_destroy(pointer) }
}

/// Owns an LRU `leveldb_cache_t` (the block cache) and destroys it in `deinit`.
final class LevelDBCacheHandle {
    let pointer: OpaquePointer
    init(capacity: Int) { pointer = leveldb_cache_create_lru(capacity) }
    deinit { leveldb_cache_destroy(pointer) }
}

/// Owns a bloom `leveldb_filterpolicy_t` and destroys it in `deinit`.
final class LevelDBFilterPolicyHandle {
    let pointer: OpaquePointer
    init(bitsPerKey: Int32) { pointer = leveldb_filterpolicy_create_bloom(bitsPerKey) }
    deinit { leveldb_filterpolicy_destroy(pointer) }
}

/// Owns a `leveldb_readoptions_t`. It is configured once and then only read
/// (through a const reference) by LevelDB, so threads may share it.
final class LevelDBReadOptionsHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(verifyChecksums: Bool) {
        pointer = leveldb_readoptions_create()
        leveldb_readoptions_set_verify_checksums(pointer, verifyChecksums ? 1 : 0)
    }
    deinit { leveldb_readoptions_destroy(pointer) }
}

/// Owns a `leveldb_writeoptions_t` set once for a durability mode: `sync` for
/// `fsync`, no sync for `os` (LevelDB writes each log record to the kernel
/// before it acknowledges). It is only read by LevelDB afterwards.
final class LevelDBWriteOptionsHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(sync: Bool) {
        pointer = leveldb_writeoptions_create()
        leveldb_writeoptions_set_sync(pointer, sync ? 1 : 0)
    }
    deinit { leveldb_writeoptions_destroy(pointer) }
}

/// Owns a `leveldb_writebatch_t` (the empty batch `sync` writes with `sync = true`).
final class LevelDBWriteBatchHandle {
    let pointer: OpaquePointer
    init() { pointer = leveldb_writebatch_create() }
    deinit { leveldb_writebatch_destroy(pointer) }
}

/// A LevelDB status as its C API reports it: the `Status::ToString()` text,
/// whose prefix is the status code (`Corruption`, `IO error`, `Invalid argument`, ...).
struct LevelDBFailure: Error, Sendable {
    /// The status code named by the message's prefix.
    enum Code: String, Sendable {
        case notFound = "NotFound"
        case corruption = "Corruption"
        case notSupported = "Not implemented"
        case invalidArgument = "Invalid argument"
        case ioError = "IO error"
        case unknown
    }

    let code: Code
    let message: String

    init(message: String) {
        self.message = message
        let prefix = message.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        code = Code(rawValue: prefix) ?? .unknown
    }

    /// The matching `StoreError`, the library's message kept verbatim.
    func storeError(path: String) -> StoreError {
        switch code {
        case .corruption:
            return .corruption(path: path, reason: message)
        case .ioError where message.contains("No space left on device"):
            return .io(operation: "LevelDB (\(message))", path: path, errno: 28)
        case .ioError where message.hasPrefix("IO error: lock "):
            return .alreadyOpen(path: path)
        case .invalidArgument where message.contains("does not exist (create_if_missing is false)"):
            return .notFound(path: path)
        default:
            return .engine(name: LevelDBStore.engineName, message: message)
        }
    }
}
