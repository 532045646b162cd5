#ifndef KVBENCH_CLEVELDB_SHIM_H
#define KVBENCH_CLEVELDB_SHIM_H
/* Debian's libleveldb-dev ships no pkg-config file: the header is in the default include path. */
#include <leveldb/c.h>
#endif
