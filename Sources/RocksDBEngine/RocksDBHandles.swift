import CRocksDB
import KVStore

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
