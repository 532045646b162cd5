#ifndef KVBENCH_CLMDB_SHIM_H
#define KVBENCH_CLMDB_SHIM_H
#include <lmdb.h>
#endif
