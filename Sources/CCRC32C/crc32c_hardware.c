#include "crc32c_hardware.h"
#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

/* Three independent crc32 streams over adjacent stretches of a buffer hide the
   instruction's 3-cycle latency; their results are joined by "shifting" a CRC
   over a run of zero bytes, a linear operator over GF(2) applied through four
   256-entry tables per stretch length (the method of Mark Adler's crc32c.c,
   written here from the algebra). */

#define CRC32C_POLYNOMIAL 0x82F63B78u
#define LONG_STRETCH 1024
#define SHORT_STRETCH 256

static uint32_t long_shift[4][256];
static uint32_t short_shift[4][256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static uint32_t gf2_times(const uint32_t *matrix, uint32_t vector) {
    uint32_t sum = 0;
    while (vector) {
        if (vector & 1) sum ^= *matrix;
        vector >>= 1;
        matrix++;
    }
    return sum;
}

static void gf2_square(uint32_t *square, const uint32_t *matrix) {
    for (int n = 0; n < 32; n++) square[n] = gf2_times(matrix, matrix[n]);
}

/* The operator that appends `length` zero bytes (a power of two) to a CRC register. */
static void zeros_operator(uint32_t *even, size_t length) {
    uint32_t odd[32];
    odd[0] = CRC32C_POLYNOMIAL;
    uint32_t row = 1;
    for (int n = 1; n < 32; n++) {
        odd[n] = row;
        row <<= 1;
    }
    gf2_square(even, odd);
    gf2_square(odd, even);
    do {
        gf2_square(even, odd);
        length >>= 1;
        if (length == 0) return;
        gf2_square(odd, even);
        length >>= 1;
    } while (length);
    memcpy(even, odd, sizeof(odd));
}

static void build_shift_table(uint32_t table[4][256], size_t length) {
    uint32_t operator_[32];
    zeros_operator(operator_, length);
    for (uint32_t n = 0; n < 256; n++) {
        table[0][n] = gf2_times(operator_, n);
        table[1][n] = gf2_times(operator_, n << 8);
        table[2][n] = gf2_times(operator_, n << 16);
        table[3][n] = gf2_times(operator_, n << 24);
    }
}

static void build_tables(void) {
    build_shift_table(long_shift, LONG_STRETCH);
    build_shift_table(short_shift, SHORT_STRETCH);
}

static inline uint32_t shift(uint32_t table[4][256], uint32_t crc) {
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^ table[3][crc >> 24];
}

int kvbench_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("sse4.2")) return 0;
    pthread_once(&tables_once, build_tables);
    return 1;
}

static inline uint64_t load64(const unsigned char *bytes) {
    uint64_t word;
    memcpy(&word, bytes, 8);
    return word;
}

__attribute__((target("sse4.2")))
static const unsigned char *three_streams(uint64_t *state, const unsigned char *bytes, size_t *count,
                                          size_t stretch, uint32_t table[4][256]) {
    while (*count >= 3 * stretch) {
        uint64_t first = *state, second = 0, third = 0;
        const unsigned char *end = bytes + stretch;
        do {
            first = _mm_crc32_u64(first, load64(bytes));
            second = _mm_crc32_u64(second, load64(bytes + stretch));
            third = _mm_crc32_u64(third, load64(bytes + 2 * stretch));
            bytes += 8;
        } while (bytes < end);
        uint32_t joined = shift(table, (uint32_t)first) ^ (uint32_t)second;
        joined = shift(table, joined) ^ (uint32_t)third;
        *state = joined;
        bytes += 2 * stretch;
        *count -= 3 * stretch;
    }
    return bytes;
}

__attribute__((target("sse4.2")))
uint32_t kvbench_crc32c_hardware_update(uint32_t crc, const void *data, size_t count) {
    const unsigned char *bytes = (const unsigned char *)data;
    uint64_t state = (uint32_t)~crc;
    bytes = three_streams(&state, bytes, &count, LONG_STRETCH, long_shift);
    bytes = three_streams(&state, bytes, &count, SHORT_STRETCH, short_shift);
    while (count >= 8) {
        state = _mm_crc32_u64(state, load64(bytes));
        bytes += 8;
        count -= 8;
    }
    uint32_t small = (uint32_t)state;
    while (count > 0) {
        small = _mm_crc32_u8(small, *bytes);
        bytes += 1;
        count -= 1;
    }
    return ~small;
}
#else
int kvbench_crc32c_hardware_available(void) { return 0; }

uint32_t kvbench_crc32c_hardware_update(uint32_t crc, const void *data, size_t count) {
    (void)data;
    (void)count;
    return crc;
}
#endif
