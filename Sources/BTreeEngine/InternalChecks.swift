/// Whether this build checks the engine's internal invariants (`KVBENCH_INTERNAL_CHECKS`,
/// defined for debug builds in Package.swift): page room and key order in every split step.
enum InternalChecks {
    #if KVBENCH_INTERNAL_CHECKS
    static let enabled = true
    #else
    static let enabled = false
    #endif
}
