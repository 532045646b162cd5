#ifndef KVBENCH_CROCKSDB_SHIM_H
#define KVBENCH_CROCKSDB_SHIM_H
#include <rocksdb/c.h>

/* dladdr(3) and its result, which <dlfcn.h> declares only under _GNU_SOURCE
   (and Swift's Glibc module is built without it): finds the loaded library. */
typedef struct {
    const char *dli_fname;
    void *dli_fbase;
    const char *dli_sname;
    void *dli_saddr;
} crocksdb_dl_info;
int dladdr(const void *address, crocksdb_dl_info *info);
#endif
