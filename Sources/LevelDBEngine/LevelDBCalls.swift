import CLevelDB
import LevelDBStyleAPI

extension LevelDBStyleLibrary {
    /// LevelDB's C API, for the write, error and cursor code it shares with RocksDB's.
    static let levelDB = LevelDBStyleLibrary(
        free: leveldb_free,
        classify: { message, path in LevelDBFailure(message: message).storeError(path: path) },
        iterator: IteratorCalls(create: leveldb_create_iterator, destroy: leveldb_iter_destroy, seek: leveldb_iter_seek,
                                seekToFirst: leveldb_iter_seek_to_first, next: leveldb_iter_next, valid: leveldb_iter_valid,
                                key: leveldb_iter_key, value: leveldb_iter_value, error: leveldb_iter_get_error),
        batch: BatchCalls(create: leveldb_writebatch_create, destroy: leveldb_writebatch_destroy, clear: leveldb_writebatch_clear,
                          put: leveldb_writebatch_put, delete: leveldb_writebatch_delete, write: leveldb_write))
}

