#ifndef KVBENCH_CSQLITE_SHIM_H
#define KVBENCH_CSQLITE_SHIM_H
#include <sqlite3.h>

/* SQLITE_TRANSIENT is a macro casting -1 to a function pointer, which Swift cannot import:
   the bind calls here use SQLITE_STATIC (the bytes outlive the step), so no shim is needed for it. */
#endif
