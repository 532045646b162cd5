/// Whether this build checks the engine's internal invariants (`KVBENCH_INTERNAL_CHECKS`,
/// defined for debug builds in Package.swift): the monitor held where the code needs it,
/// table keys in strictly increasing order.
enum InternalChecks {
    #if KVBENCH_INTERNAL_CHECKS
    static let enabled = true
    #else
    static let enabled = false
    #endif
}
