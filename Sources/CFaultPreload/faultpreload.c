#define _GNU_SOURCE
#include "CFaultPreload.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_TRACKED_FDS 65536

/* Per-descriptor state; only descriptors of files under the traced directory are tracked. */
struct tracked_fd {
    char tracked;
    char append;
    char *path;
};

static struct tracked_fd fds[MAX_TRACKED_FDS];
static char traced_dir[PATH_MAX];
static size_t traced_dir_length;
static int log_fd = -1;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

int kvfaults_preload_version(void) { return 1; }

#define REAL(name) static __typeof__(name) *real_##name; if (!real_##name) real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

__attribute__((constructor)) static void kvfaults_init(void) {
    const char *dir = getenv("KVFAULTS_DIR");
    const char *trace = getenv("KVFAULTS_TRACE");
    if (!dir || !trace) return;
    size_t length = strlen(dir);
    if (length == 0 || length >= sizeof(traced_dir)) return;
    memcpy(traced_dir, dir, length + 1);
    while (length > 1 && traced_dir[length - 1] == '/') traced_dir[--length] = 0;
    traced_dir_length = length;
    log_fd = (int)syscall(SYS_openat, AT_FDCWD, trace, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

/* Appends one record with a single writev, so a kill never leaves half a record
 * followed by another record (a cut last record is dropped by the reader). */
static void emit(uint8_t type, int fd, uint64_t a, uint64_t b, const char *path, const void *data, uint32_t data_length) {
    if (log_fd < 0) return;
    uint32_t path_length = path ? (uint32_t)strlen(path) : 0;
    unsigned char header[1 + 4 + 8 + 8 + 4 + 4];
    int32_t fd32 = fd;
    header[0] = type;
    memcpy(header + 1, &fd32, 4);
    memcpy(header + 5, &a, 8);
    memcpy(header + 13, &b, 8);
    memcpy(header + 21, &path_length, 4);
    memcpy(header + 25, &data_length, 4);
    struct iovec parts[3] = {
        { header, sizeof(header) },
        { (void *)path, path_length },
        { (void *)data, data_length },
    };
    size_t total = sizeof(header) + path_length + data_length;
    pthread_mutex_lock(&log_lock);
    size_t done = 0;
    int index = 0;
    while (done < total) {
        ssize_t result = syscall(SYS_writev, log_fd, parts + index, 3 - index);
        if (result < 0) {
            if (errno == EINTR) continue;
            break;
        }
        done += (size_t)result;
        size_t skip = (size_t)result;
        while (index < 3 && skip >= parts[index].iov_len) { skip -= parts[index].iov_len; index++; }
        if (index < 3) {
            parts[index].iov_base = (char *)parts[index].iov_base + skip;
            parts[index].iov_len -= skip;
        }
    }
    pthread_mutex_unlock(&log_lock);
}

/* Rewrites an absolute path in place without "." components and without repeated or trailing
 * slashes, so that one file has one name in the trace (WiredTiger opens "DIR/./NAME" and syncs
 * "DIR/" and "DIR/."). ".." is left as it is. */
static void normalize(char *path) {
    char *from = path, *to = path;
    while (*from) {
        if (from[0] == '/') {
            while (from[1] == '/') from++;
            if (from[1] == '.' && (from[2] == '/' || from[2] == 0)) { from += 2; continue; }
            if (from[1] == 0 && to != path) { from++; continue; }
        }
        *to++ = *from++;
    }
    if (to == path) *to++ = '/';
    *to = 0;
}

/* Resolves `path` (relative to `dirfd`) to an absolute path; returns 1 when it lies under the traced directory. */
static int resolve(int dirfd, const char *path, char *out) {
    if (!traced_dir_length || !path) return 0;
    if (path[0] == '/') {
        if (strlen(path) >= PATH_MAX) return 0;
        strcpy(out, path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof(base))) return 0;
        } else if (dirfd >= 0 && dirfd < MAX_TRACKED_FDS && fds[dirfd].tracked && fds[dirfd].path) {
            strcpy(base, fds[dirfd].path);
        } else {
            return 0;
        }
        if (strlen(base) + 1 + strlen(path) >= PATH_MAX) return 0;
        strcpy(out, base);
        strcat(out, "/");
        strcat(out, path);
    }
    normalize(out);
    if (strncmp(out, traced_dir, traced_dir_length) != 0) return 0;
    return out[traced_dir_length] == 0 || out[traced_dir_length] == '/';
}

static int is_tracked(int fd) { return fd >= 0 && fd < MAX_TRACKED_FDS && fds[fd].tracked; }

static void after_open(int fd, const char *absolute, int flags) {
    if (fd < 0 || fd >= MAX_TRACKED_FDS) return;
    struct stat info;
    if (fstat(fd, &info) != 0) return;
    free(fds[fd].path);
    fds[fd].path = strdup(absolute);
    fds[fd].append = (flags & O_APPEND) != 0;
    fds[fd].tracked = 1;
    unsigned char is_directory = S_ISDIR(info.st_mode) ? 1 : 0;
    emit(KVFAULTS_OPEN, fd, (uint64_t)(unsigned)flags, (uint64_t)info.st_ino, absolute, &is_directory, 1);
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode) {
    int fd = (int)syscall(SYS_openat, dirfd, path, flags, mode);
    if (fd < 0) return -1;
    char absolute[PATH_MAX];
    if (resolve(dirfd, path, absolute)) after_open(fd, absolute, flags);
    return fd;
}

static mode_t mode_argument(int flags, va_list arguments) {
    if (flags & (O_CREAT | __O_TMPFILE)) return (mode_t)va_arg(arguments, int);
    return 0;
}

int open(const char *path, int flags, ...) {
    va_list arguments; va_start(arguments, flags); mode_t mode = mode_argument(flags, arguments); va_end(arguments);
    return open_common(AT_FDCWD, path, flags, mode);
}
int open64(const char *path, int flags, ...) {
    va_list arguments; va_start(arguments, flags); mode_t mode = mode_argument(flags, arguments); va_end(arguments);
    return open_common(AT_FDCWD, path, flags, mode);
}
int openat(int dirfd, const char *path, int flags, ...) {
    va_list arguments; va_start(arguments, flags); mode_t mode = mode_argument(flags, arguments); va_end(arguments);
    return open_common(dirfd, path, flags, mode);
}
int openat64(int dirfd, const char *path, int flags, ...) {
    va_list arguments; va_start(arguments, flags); mode_t mode = mode_argument(flags, arguments); va_end(arguments);
    return open_common(dirfd, path, flags, mode);
}
int __open_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int __open64_2(const char *path, int flags) { return open_common(AT_FDCWD, path, flags, 0); }
int __openat_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0); }
int __openat64_2(int dirfd, const char *path, int flags) { return open_common(dirfd, path, flags, 0); }
int creat(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }
int creat64(const char *path, mode_t mode) { return open_common(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode); }

int close(int fd) {
    REAL(close);
    if (is_tracked(fd)) {
        emit(KVFAULTS_CLOSE, fd, 0, 0, NULL, NULL, 0);
        fds[fd].tracked = 0;
        free(fds[fd].path);
        fds[fd].path = NULL;
    }
    return real_close(fd);
}

static void record_write(int fd, uint64_t offset, const void *data, ssize_t written) {
    if (written > 0) emit(KVFAULTS_WRITE, fd, offset, 0, NULL, data, (uint32_t)written);
}

static uint64_t current_offset(int fd) {
    if (fds[fd].append) {
        struct stat info;
        if (fstat(fd, &info) == 0) return (uint64_t)info.st_size;
    }
    off_t position = lseek(fd, 0, SEEK_CUR);
    return position < 0 ? 0 : (uint64_t)position;
}

ssize_t write(int fd, const void *buffer, size_t count) {
    REAL(write);
    if (!is_tracked(fd)) return real_write(fd, buffer, count);
    uint64_t offset = current_offset(fd);
    ssize_t result = real_write(fd, buffer, count);
    record_write(fd, offset, buffer, result);
    return result;
}

ssize_t pwrite(int fd, const void *buffer, size_t count, off_t offset) {
    REAL(pwrite);
    ssize_t result = real_pwrite(fd, buffer, count, offset);
    if (is_tracked(fd)) record_write(fd, (uint64_t)offset, buffer, result);
    return result;
}

ssize_t pwrite64(int fd, const void *buffer, size_t count, off64_t offset) {
    REAL(pwrite64);
    ssize_t result = real_pwrite64(fd, buffer, count, offset);
    if (is_tracked(fd)) record_write(fd, (uint64_t)offset, buffer, result);
    return result;
}

/* Gathers the first `written` bytes of an iovec array and records them. */
static void record_vector(int fd, uint64_t offset, const struct iovec *vector, int count, ssize_t written) {
    if (written <= 0) return;
    char *copy = malloc((size_t)written);
    if (!copy) return;
    size_t done = 0;
    for (int index = 0; index < count && done < (size_t)written; index++) {
        size_t take = vector[index].iov_len;
        if (take > (size_t)written - done) take = (size_t)written - done;
        memcpy(copy + done, vector[index].iov_base, take);
        done += take;
    }
    record_write(fd, offset, copy, written);
    free(copy);
}

ssize_t writev(int fd, const struct iovec *vector, int count) {
    REAL(writev);
    if (!is_tracked(fd)) return real_writev(fd, vector, count);
    uint64_t offset = current_offset(fd);
    ssize_t result = real_writev(fd, vector, count);
    record_vector(fd, offset, vector, count, result);
    return result;
}

ssize_t pwritev(int fd, const struct iovec *vector, int count, off_t offset) {
    REAL(pwritev);
    ssize_t result = real_pwritev(fd, vector, count, offset);
    if (is_tracked(fd)) record_vector(fd, (uint64_t)offset, vector, count, result);
    return result;
}

ssize_t pwritev64(int fd, const struct iovec *vector, int count, off64_t offset) {
    REAL(pwritev64);
    ssize_t result = real_pwritev64(fd, vector, count, offset);
    if (is_tracked(fd)) record_vector(fd, (uint64_t)offset, vector, count, result);
    return result;
}

ssize_t pwritev2(int fd, const struct iovec *vector, int count, off_t offset, int flags) {
    REAL(pwritev2);
    uint64_t position = offset == -1 && is_tracked(fd) ? current_offset(fd) : (uint64_t)offset;
    ssize_t result = real_pwritev2(fd, vector, count, offset, flags);
    if (is_tracked(fd)) record_vector(fd, position, vector, count, result);
    return result;
}

int fsync(int fd) {
    REAL(fsync);
    int result = real_fsync(fd);
    if (result == 0 && is_tracked(fd)) emit(KVFAULTS_SYNC, fd, 0, 0, NULL, NULL, 0);
    return result;
}

int fdatasync(int fd) {
    REAL(fdatasync);
    int result = real_fdatasync(fd);
    if (result == 0 && is_tracked(fd)) emit(KVFAULTS_SYNC, fd, 0, 0, NULL, NULL, 0);
    return result;
}

int msync(void *address, size_t length, int flags) {
    REAL(msync);
    int result = real_msync(address, length, flags);
    if (result == 0 && traced_dir_length) emit(KVFAULTS_MSYNC, -1, (uint64_t)(uintptr_t)address, length, NULL, NULL, 0);
    return result;
}

void sync(void) {
    REAL(sync);
    real_sync();
    emit(KVFAULTS_SYNCALL, -1, 0, 0, NULL, NULL, 0);
}

int syncfs(int fd) {
    REAL(syncfs);
    int result = real_syncfs(fd);
    if (result == 0) emit(KVFAULTS_SYNCALL, fd, 0, 0, NULL, NULL, 0);
    return result;
}

int ftruncate(int fd, off_t length) {
    REAL(ftruncate);
    int result = real_ftruncate(fd, length);
    if (result == 0 && is_tracked(fd)) emit(KVFAULTS_TRUNCATE, fd, (uint64_t)length, 0, NULL, NULL, 0);
    return result;
}

int ftruncate64(int fd, off64_t length) {
    REAL(ftruncate64);
    int result = real_ftruncate64(fd, length);
    if (result == 0 && is_tracked(fd)) emit(KVFAULTS_TRUNCATE, fd, (uint64_t)length, 0, NULL, NULL, 0);
    return result;
}

int truncate(const char *path, off_t length) {
    REAL(truncate);
    int result = real_truncate(path, length);
    char absolute[PATH_MAX];
    if (result == 0 && resolve(AT_FDCWD, path, absolute)) emit(KVFAULTS_TRUNCPATH, -1, (uint64_t)length, 0, absolute, NULL, 0);
    return result;
}

static void after_extend(int fd, int mode, off_t offset, off_t length) {
    if (is_tracked(fd) && (mode & FALLOC_FL_KEEP_SIZE) == 0) emit(KVFAULTS_EXTEND, fd, (uint64_t)(offset + length), 0, NULL, NULL, 0);
}

int fallocate(int fd, int mode, off_t offset, off_t length) {
    REAL(fallocate);
    int result = real_fallocate(fd, mode, offset, length);
    if (result == 0) after_extend(fd, mode, offset, length);
    return result;
}

int fallocate64(int fd, int mode, off64_t offset, off64_t length) {
    REAL(fallocate64);
    int result = real_fallocate64(fd, mode, offset, length);
    if (result == 0) after_extend(fd, mode, offset, length);
    return result;
}

int posix_fallocate(int fd, off_t offset, off_t length) {
    REAL(posix_fallocate);
    int result = real_posix_fallocate(fd, offset, length);
    if (result == 0) after_extend(fd, 0, offset, length);
    return result;
}

int posix_fallocate64(int fd, off64_t offset, off64_t length) {
    REAL(posix_fallocate64);
    int result = real_posix_fallocate64(fd, offset, length);
    if (result == 0) after_extend(fd, 0, offset, length);
    return result;
}

static void after_rename(int old_dirfd, const char *old_path, int new_dirfd, const char *new_path) {
    char old_absolute[PATH_MAX], new_absolute[PATH_MAX];
    int old_inside = resolve(old_dirfd, old_path, old_absolute);
    int new_inside = resolve(new_dirfd, new_path, new_absolute);
    if (!old_inside && !new_inside) return;
    if (!old_inside) strcpy(old_absolute, old_path);
    if (!new_inside) strcpy(new_absolute, new_path);
    emit(KVFAULTS_RENAME, -1, 0, 0, old_absolute, new_absolute, (uint32_t)strlen(new_absolute));
}

int rename(const char *old_path, const char *new_path) {
    REAL(rename);
    int result = real_rename(old_path, new_path);
    if (result == 0) after_rename(AT_FDCWD, old_path, AT_FDCWD, new_path);
    return result;
}

int renameat(int old_dirfd, const char *old_path, int new_dirfd, const char *new_path) {
    REAL(renameat);
    int result = real_renameat(old_dirfd, old_path, new_dirfd, new_path);
    if (result == 0) after_rename(old_dirfd, old_path, new_dirfd, new_path);
    return result;
}

int renameat2(int old_dirfd, const char *old_path, int new_dirfd, const char *new_path, unsigned int flags) {
    REAL(renameat2);
    int result = real_renameat2(old_dirfd, old_path, new_dirfd, new_path, flags);
    if (result == 0) after_rename(old_dirfd, old_path, new_dirfd, new_path);
    return result;
}

int unlink(const char *path) {
    REAL(unlink);
    int result = real_unlink(path);
    char absolute[PATH_MAX];
    if (result == 0 && resolve(AT_FDCWD, path, absolute)) emit(KVFAULTS_UNLINK, -1, 0, 0, absolute, NULL, 0);
    return result;
}

int unlinkat(int dirfd, const char *path, int flags) {
    REAL(unlinkat);
    int result = real_unlinkat(dirfd, path, flags);
    char absolute[PATH_MAX];
    if (result == 0 && resolve(dirfd, path, absolute)) emit(KVFAULTS_UNLINK, -1, 0, 0, absolute, NULL, 0);
    return result;
}
