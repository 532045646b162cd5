#ifndef CFAULTPRELOAD_H
#define CFAULTPRELOAD_H

/* KVBench's syscall recorder, loaded with LD_PRELOAD into a crash-test child.
 * It records writes, syncs, renames, creations, unlinks and truncations of
 * files under $KVFAULTS_DIR into the binary log $KVFAULTS_TRACE, from which the
 * parent rebuilds the state a power loss would leave (see KVFaults/SyscallTrace.swift).
 * Record layout (little endian): u8 type, i32 fd, u64 a, u64 b, u32 path bytes,
 * u32 data bytes, then the path, then the data. */

enum kvfaults_record_type {
    KVFAULTS_OPEN = 1,      /* fd, a = open flags, b = inode number, path; data[0] = 1 for a directory */
    KVFAULTS_CLOSE = 2,     /* fd */
    KVFAULTS_WRITE = 3,     /* fd, a = offset, data = the bytes written */
    KVFAULTS_SYNC = 4,      /* fd: fsync or fdatasync returned success */
    KVFAULTS_TRUNCATE = 5,  /* fd, a = new length */
    KVFAULTS_RENAME = 6,    /* path = old path, data = new path */
    KVFAULTS_UNLINK = 7,    /* path */
    KVFAULTS_MSYNC = 8,     /* a memory map was synced: its data is not recorded */
    KVFAULTS_SYNCALL = 9,   /* sync or syncfs: everything durable */
    KVFAULTS_EXTEND = 10,   /* fd, a = new length at least (fallocate without KEEP_SIZE) */
    KVFAULTS_TRUNCPATH = 11 /* path, a = new length */
};

/* The version of the record format. */
int kvfaults_preload_version(void);

#endif
