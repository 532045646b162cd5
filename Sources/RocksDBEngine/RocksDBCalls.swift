import CRocksDB
import LevelDBStyleAPI

extension LevelDBStyleLibrary {
    /// RocksDB's C API, for the write, error and cursor code it shares with LevelDB's.
    static let rocksDB = LevelDBStyleLibrary(
        free: rocksdb_free,
        classify: { message, path in RocksDBStore.classify(message: message, path: path) },
        iterator: IteratorCalls(create: rocksdb_create_iterator, destroy: rocksdb_iter_destroy, seek: rocksdb_iter_seek,
                                seekToFirst: rocksdb_iter_seek_to_first, next: rocksdb_iter_next, valid: rocksdb_iter_valid,
                                key: rocksdb_iter_key, value: rocksdb_iter_value, error: rocksdb_iter_get_error),
        batch: BatchCalls(create: rocksdb_writebatch_create, destroy: rocksdb_writebatch_destroy, clear: rocksdb_writebatch_clear,
                          put: rocksdb_writebatch_put, delete: rocksdb_writebatch_delete, write: rocksdb_write))
}

