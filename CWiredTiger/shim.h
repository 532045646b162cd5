#ifndef KVBENCH_CWIREDTIGER_SHIM_H
#define KVBENCH_CWIREDTIGER_SHIM_H
#include <stdint.h>
#include <wiredtiger.h>

/* WT_CURSOR's get_key, get_value, set_key and set_value are variadic function
 * pointers, which Swift cannot call; these forward one WT_ITEM (key_format=u,
 * value_format=u), a metadata cursor's strings, or a statistics cursor's integer
 * key and int64 value. */

static inline void kvbench_wt_set_key(WT_CURSOR *cursor, const WT_ITEM *item) { cursor->set_key(cursor, item); }

static inline void kvbench_wt_set_value(WT_CURSOR *cursor, const WT_ITEM *item) { cursor->set_value(cursor, item); }

static inline int kvbench_wt_get_key(WT_CURSOR *cursor, WT_ITEM *item) { return cursor->get_key(cursor, item); }

static inline int kvbench_wt_get_value(WT_CURSOR *cursor, WT_ITEM *item) { return cursor->get_value(cursor, item); }

/* Looks `key` up in a cursor whose key and value formats are strings (the "metadata:" cursor). */
static inline int kvbench_wt_search_string(WT_CURSOR *cursor, const char *key, const char **value) {
    cursor->set_key(cursor, key);
    int result = cursor->search(cursor);
    if (result != 0) return result;
    return cursor->get_value(cursor, value);
}

/* Reads statistic `key` (a WT_STAT_CONN_* number) from a "statistics:" cursor into `value`. */
static inline int kvbench_wt_statistic(WT_CURSOR *cursor, int key, int64_t *value) {
    const char *description;
    const char *printable;
    cursor->set_key(cursor, key);
    int result = cursor->search(cursor);
    if (result != 0) return result;
    return cursor->get_value(cursor, &description, &printable, value);
}

#endif
