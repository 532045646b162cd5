import KVStore
import StorageIO
import Testing
@testable import LSMEngine

/// The invariants debug builds check (`KVBENCH_INTERNAL_CHECKS`): each stops the process.
@Suite(.enabled(if: InternalChecks.enabled)) struct InternalCheckTests {
    @Test func tableKeysOutOfOrderStopTheProcess() async throws {
        let directory = try FileSystem.makeTemporaryDirectory(prefix: "kvbench-lsm-checks")
        defer { try? FileSystem.removeTree(directory) }
        await #expect(processExitsWith: .failure) { [directory = directory as String] in
            let builder = try TableBuilder(directory: directory, number: 1, blockSize: 4096, bitsPerKey: 10)
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            for key: Bytes in [[2], [1]] {
                try key.withUnsafeBytes { try builder.add(key: $0, kind: .value, value: empty) }
            }
        }
    }

    @Test func tableKeysInOrderPass() throws {
        try withDirectory { directory in
            try FileSystem.createDirectory(directory)
            let builder = try TableBuilder(directory: directory, number: 1, blockSize: 4096, bitsPerKey: 10)
            let empty = UnsafeRawBufferPointer(start: nil, count: 0)
            for key: Bytes in [[1], [1, 0], [2]] {
                try key.withUnsafeBytes { try builder.add(key: $0, kind: .value, value: empty) }
            }
            #expect(try builder.finish().entries == 3)
        }
    }

    @Test func monitorNotHeldStopsTheProcess() async {
        await #expect(processExitsWith: .failure) {
            Monitor().assertHeld()
        }
        await #expect(processExitsWith: .success) {
            let monitor = Monitor()
            monitor.withLock { monitor.assertHeld() }
            monitor.lock()
            monitor.wait(nanoseconds: 1000)
            monitor.assertHeld()
            monitor.unlock()
        }
    }
}
