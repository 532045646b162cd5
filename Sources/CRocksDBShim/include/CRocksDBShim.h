#ifndef KVBENCH_CROCKSDBSHIM_H
#define KVBENCH_CROCKSDBSHIM_H
/* Point reads through RocksDB's C++ API, for the RocksDB adapter: a get into a
   reused rocksdb::PinnableSlice, which allocates nothing, where the C API's
   rocksdb_get mallocs a copy of every value and rocksdb_get_pinned a slice
   object. Only C types cross this header, so Swift needs no C++ interop. */
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The C API's database handle (<rocksdb/c.h>). */
struct rocksdb_t;

/* A database's point-read path: its rocksdb::DB, default column family and
   default rocksdb::ReadOptions. Safe for concurrent use (const after creation). */
typedef struct crocksdb_reader crocksdb_reader;

/* One thread's value buffer: a rocksdb::PinnableSlice, reused across gets. */
typedef struct crocksdb_value crocksdb_value;

/* The reader of an open database, or NULL with *errptr set (a malloc'd message,
   freed with rocksdb_free) when the loaded library is not the version this shim
   was compiled against. It does not own the database: destroy it first. */
crocksdb_reader *crocksdb_reader_create(struct rocksdb_t *database, char **errptr);
void crocksdb_reader_destroy(crocksdb_reader *reader);

crocksdb_value *crocksdb_value_create(void);
void crocksdb_value_destroy(crocksdb_value *value);

/* Looks `key` up into `value` and returns RocksDB's Status::Code: 0 (kOk) with
   *data and *length set to the value, valid until crocksdb_value_reset; 1
   (kNotFound); anything else with *errptr set to the status text (code and
   message, as the C API reports them). */
int crocksdb_get(const crocksdb_reader *reader, crocksdb_value *value, const char *key, size_t key_length,
                 const char **data, size_t *length, char **errptr);

/* Releases what the last get pinned (a block cache entry or a memtable copy). */
void crocksdb_value_reset(crocksdb_value *value);

#ifdef __cplusplus
}
#endif
#endif
