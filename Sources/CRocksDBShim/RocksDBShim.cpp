#include "CRocksDBShim.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <string>

#include <rocksdb/db.h>
#include <rocksdb/slice.h>
#include <rocksdb/version.h>

// The C API defines its database handle in c.cc, not in its header, as
//   struct rocksdb_t { DB* rep; };
// (unchanged since the C API began, and so in 7.8.3). This shim relies on that layout: the
// handle's first and only member is the rocksdb::DB*. It also calls DB's virtual Get through
// the vtable these headers describe, so crocksdb_reader_create checks that the loaded library
// is the version of the headers it was compiled against.
struct rocksdb_t {
    rocksdb::DB *rep;
};

struct crocksdb_reader {
    rocksdb::DB *database;
    rocksdb::ColumnFamilyHandle *column_family;
    rocksdb::ReadOptions options;
};

struct crocksdb_value {
    rocksdb::PinnableSlice slice;
};

namespace {
void set_error(char **errptr, const std::string &message) {
    *errptr = strdup(message.c_str());
}

const std::string compiled_version = std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
                                     std::to_string(ROCKSDB_PATCH);
}  // namespace

extern "C" crocksdb_reader *crocksdb_reader_create(rocksdb_t *database, char **errptr) {
    const std::string loaded = rocksdb::GetRocksVersionAsString(true);
    if (loaded != compiled_version) {
        set_error(errptr, "Not supported: the loaded RocksDB library is " + loaded +
                              ", but KVBench's read shim (CRocksDBShim) was compiled against the headers of " +
                              compiled_version + "; rebuild kvbench against that library's headers");
        return nullptr;
    }
    auto *reader = new (std::nothrow) crocksdb_reader();
    if (reader == nullptr) {
        set_error(errptr, "IO error: out of memory creating the read shim");
        return nullptr;
    }
    reader->database = database->rep;
    reader->column_family = database->rep->DefaultColumnFamily();
    return reader;
}

extern "C" void crocksdb_reader_destroy(crocksdb_reader *reader) { delete reader; }

extern "C" crocksdb_value *crocksdb_value_create(void) { return new (std::nothrow) crocksdb_value(); }

extern "C" void crocksdb_value_destroy(crocksdb_value *value) { delete value; }

extern "C" int crocksdb_get(const crocksdb_reader *reader, crocksdb_value *value, const char *key, size_t key_length,
                            const char **data, size_t *length, char **errptr) {
    const rocksdb::Status status =
        reader->database->Get(reader->options, reader->column_family, rocksdb::Slice(key, key_length), &value->slice);
    if (status.ok()) {
        *data = value->slice.data();
        *length = value->slice.size();
    } else {
        value->slice.Reset();
        if (!status.IsNotFound()) set_error(errptr, status.ToString());
    }
    return static_cast<int>(status.code());
}

extern "C" void crocksdb_value_reset(crocksdb_value *value) { value->slice.Reset(); }
