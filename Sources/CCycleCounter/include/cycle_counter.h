#ifndef KVBENCH_CYCLE_COUNTER_H
#define KVBENCH_CYCLE_COUNTER_H
#include <stdint.h>

/// Reads the CPU's time-stamp counter (x86-64 `rdtsc`); 0 on other architectures.
/// Only meaningful where the kernel itself uses the TSC as its clocksource
/// (invariant, synchronized across cores); the caller checks that.
static inline uint64_t kvbench_read_cycle_counter(void) {
#if defined(__x86_64__)
    return __builtin_ia32_rdtsc();
#else
    return 0;
#endif
}

/// 1 when this build can read a cycle counter.
static inline int kvbench_has_cycle_counter(void) {
#if defined(__x86_64__)
    return 1;
#else
    return 0;
#endif
}
#endif
