#if canImport(Glibc)
import Glibc
#endif
import BTreeEngine
import KVStore
import LSMEngine
import StorageFaults
import StorageIO
import Testing
@testable import KVFaults

/// The hand-written engines under the fault layer: power loss in process, and I/O errors.
/// An extension of `FaultLayerTests`, so it shares its one-at-a-time execution (the layer is process-wide).
extension FaultLayerTests {
    static let ioFaults = [
        FaultInjection.Fault(operation: .write, errno: ENOSPC, skip: 60, count: 1_000_000),
        FaultInjection.Fault(operation: .write, errno: EIO, skip: 45),
        FaultInjection.Fault(operation: .sync, errno: EIO, skip: 40),
    ]

    @Test(arguments: ioFaults)
    func lsmIOErrorsLoseNothingAcknowledged(fault: FaultInjection.Fault) throws {
        let outcome = try IOErrorTest.run(LSMStore.self, directory: directory + "/lsm", fault: fault)
        #expect(outcome.passed, "\(outcome)")
        try finish()
    }

    @Test(arguments: ioFaults)
    func btreeIOErrorsLoseNothingAcknowledged(fault: FaultInjection.Fault) throws {
        let outcome = try IOErrorTest.run(BTreeStore.self, directory: directory + "/btree", fault: fault)
        #expect(outcome.passed, "\(outcome)")
        try finish()
    }

    /// Full disks that stay full through a reopen: every write failing, and only the page file or
    /// the tables failing (the logs still take commits, as when a truncated log freed some space).
    static let fullDisks = [
        FaultInjection.Fault(operation: .write, errno: ENOSPC, skip: 60, count: 1_000_000),
        FaultInjection.Fault(operation: .write, errno: ENOSPC, skip: 0, count: 1_000_000, pathContains: "btree.db"),
        FaultInjection.Fault(operation: .write, errno: ENOSPC, skip: 0, count: 1_000_000, pathContains: ".sst"),
        FaultInjection.Fault(operation: .write, errno: ENOSPC, skip: 2, count: 1_000_000, pathContains: "MANIFEST"),
    ]

    @Test(arguments: fullDisks)
    func lsmOpenOnAFullDiskLosesNothingAcknowledged(fault: FaultInjection.Fault) throws {
        let outcome = try IOErrorTest.fullDisk(LSMStore.self, directory: directory + "/lsm", fault: fault, operations: 1500, keySpace: 1000)
        #expect(outcome.reopened && outcome.lost == 0 && outcome.wrongValues == 0, "\(outcome)")
        #expect(outcome.acknowledged > 0, "\(outcome)")
        try finish()
    }

    /// The failed open used to truncate the redo log that held the commits after the last meta page.
    @Test(arguments: fullDisks)
    func btreeOpenOnAFullDiskLosesNothingAcknowledged(fault: FaultInjection.Fault) throws {
        let outcome = try IOErrorTest.fullDisk(BTreeStore.self, directory: directory + "/btree", fault: fault,
                                               settings: ["btree.checkpoint_pages": "16"], operations: 1500, keySpace: 1000)
        #expect(outcome.reopened && outcome.lost == 0 && outcome.wrongValues == 0, "\(outcome)")
        #expect(outcome.acknowledged > 0, "\(outcome)")
        try finish()
    }

    @Test func btreePowerLossWithFsyncLosesNothing() throws {
        let report = try CrashTest.runInProcess(BTreeStore.self, directory: directory + "/btree", durability: .fsync,
                                                rounds: 4, operationsPerRound: 300, seed: 22)
        #expect(report.status == "pass", "\(report.text)")
        #expect(report.acknowledgedChecked > 0)
        try finish()
    }

    @Test func lsmPowerLossWithFsyncLosesNothing() throws {
        let report = try CrashTest.runInProcess(LSMStore.self, directory: directory + "/lsm", durability: .fsync,
                                                rounds: 4, operationsPerRound: 300, seed: 21)
        #expect(report.status == "pass", "\(report.text)")
        #expect(report.acknowledgedChecked > 0)
        try finish()
    }

    /// The negative control on a real engine: `os` durability under power loss must lose writes.
    @Test func lsmNegativeControlLosesWritesWithOSDurability() throws {
        let report = try CrashTest.runInProcess(LSMStore.self, directory: directory + "/lsm", durability: .os,
                                                rounds: 3, operationsPerRound: 300, seed: 23)
        #expect(report.lost > 0, "\(report.text)")
        #expect(report.wrongValues == 0)
        try finish()
    }
}
