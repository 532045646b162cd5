import CRocksDB
import CRocksDBShim
import KVStore
import LevelDBStyleAPI

/// Owns a `rocksdb_options_t` and destroys it in `deinit`.
final class RocksDBOptionsHandle {
    let pointer: OpaquePointer
    init() { pointer = rocksdb_options_create() }
    deinit { rocksdb_options_destroy(pointer) }
}

/// Owns a `rocksdb_block_based_table_options_t` and destroys it in `deinit`.
final class RocksDBTableOptionsHandle {
    let pointer: OpaquePointer
    init() { pointer = rocksdb_block_based_options_create() }
    deinit { rocksdb_block_based_options_destroy(pointer) }
}

/// Owns an LRU `rocksdb_cache_t` and destroys it in `deinit`.
final class RocksDBCacheHandle {
    let pointer: OpaquePointer
    init(capacity: Int) { pointer = rocksdb_cache_create_lru(capacity) }
    deinit { rocksdb_cache_destroy(pointer) }
}

/// Owns a `rocksdb_readoptions_t`. It is never changed after creation, and
/// RocksDB reads it concurrently through a const reference, so sharing it
/// between threads is safe.
final class RocksDBReadOptionsHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init() { pointer = rocksdb_readoptions_create() }
    deinit { rocksdb_readoptions_destroy(pointer) }
}

/// Owns a `rocksdb_writeoptions_t`, configured once for a durability mode and
/// then only read (concurrently, through a const reference) by RocksDB.
final class RocksDBWriteOptionsHandle: @unchecked Sendable {
    let pointer: OpaquePointer
    init(durability: Durability) {
        pointer = rocksdb_writeoptions_create()
        switch durability {
        case .none: rocksdb_writeoptions_disable_WAL(pointer, 1)
        case .os: rocksdb_writeoptions_set_sync(pointer, 0)
        case .fsync: rocksdb_writeoptions_set_sync(pointer, 1)
        }
    }
    deinit { rocksdb_writeoptions_destroy(pointer) }
}

/// Owns the shim's `crocksdb_reader` (the database's `rocksdb::DB`, default column family and
/// read options, for gets into a reused `PinnableSlice`) and destroys it in `deinit`. It does
/// not own the database. `@unchecked Sendable`: the reader is constant after creation and
/// RocksDB's `DB::Get` is safe for concurrent use.
final class RocksDBReader: @unchecked Sendable {
    let pointer: OpaquePointer
    /// Fails when the loaded library is not the version the shim was compiled against.
    init(database: OpaquePointer, path: String) throws(StoreError) {
        let reader = try LevelDBStyleLibrary.rocksDB.check(path: path) { crocksdb_reader_create(database, $0) }
        guard let reader else { throw .engine(name: RocksDBStore.engineName, message: "crocksdb_reader_create returned no reader for \(path)") }
        pointer = reader
    }
    deinit { crocksdb_reader_destroy(pointer) }
}

/// One thread's value buffer for gets (a `rocksdb::PinnableSlice`, reused), destroyed in `deinit`.
/// `@unchecked Sendable`: only its own thread uses it (it lives in a `PerThreadSlots`).
final class RocksDBThreadValue: @unchecked Sendable {
    let pointer: OpaquePointer
    init() {
        guard let value = crocksdb_value_create() else { preconditionFailure("crocksdb_value_create returned NULL (out of memory)") }
        pointer = value
    }
    deinit { crocksdb_value_destroy(pointer) }
}
