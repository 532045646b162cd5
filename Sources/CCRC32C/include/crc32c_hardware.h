#ifndef KVBENCH_CRC32C_HARDWARE_H
#define KVBENCH_CRC32C_HARDWARE_H
#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the SSE4.2 crc32 instruction (x86-64), else 0.
int kvbench_crc32c_hardware_available(void);

/// Extends a CRC-32C over `count` bytes with the crc32 instruction. `crc` and the
/// result are finalized values (start with 0). Call only when available.
uint32_t kvbench_crc32c_hardware_update(uint32_t crc, const void *data, size_t count);
#endif
