#include "crc32c_hardware.h"
#include <string.h>

#if defined(__x86_64__)
#include <nmmintrin.h>

int kvbench_crc32c_hardware_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

__attribute__((target("sse4.2")))
uint32_t kvbench_crc32c_hardware_update(uint32_t crc, const void *data, size_t count) {
    const unsigned char *bytes = (const unsigned char *)data;
    uint64_t state = (uint32_t)~crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, bytes, 8);
        state = _mm_crc32_u64(state, word);
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
