#ifndef KVBENCH_CROCKSDB_SHIM_H
#define KVBENCH_CROCKSDB_SHIM_H
#include <rocksdb/c.h>
#endif
