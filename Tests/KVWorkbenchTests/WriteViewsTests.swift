import Foundation
import KVWorkbench
import Testing

@Suite struct WriteViewsTests {
    @Test func everyViewIsBytesOverUserBytes() {
        let views = WriteViews(userBytes: 1_000, engineBytes: 2_500, issuedBytes: 4_000, osBytes: 3_000, deviceSectors: 16)
        #expect(views.engineSource == "engine")
        #expect(views.engine == 2.5 && views.issued == 4 && views.os == 3)
        #expect(views.deviceBytes == 8_192 && views.device == 8.192)
    }

    @Test func anEngineWithoutACounterGetsTheIssuedView() {
        let views = WriteViews(userBytes: 100, engineBytes: nil, issuedBytes: 17_800, osBytes: 1_200, deviceSectors: nil)
        #expect(views.engineSource == "wchar")
        #expect(views.engineBytes == 17_800 && views.engine == 178)
        #expect(views.device == nil && views.deviceBytes == nil)
        let none = WriteViews(userBytes: 100, engineBytes: nil, issuedBytes: nil, osBytes: nil, deviceSectors: nil)
        #expect(none.engineSource == nil && none.engine == nil)
    }

    @Test func noUserBytesMeansNoRatio() {
        let views = WriteViews(userBytes: 0, engineBytes: 10, issuedBytes: 10, osBytes: 10, deviceSectors: 1)
        #expect(views.engine == nil && views.issued == nil && views.os == nil && views.device == nil)
        #expect(views.deviceBytes == 512)
    }

    @Test func deltasOfMissingOrBackwardCountersAreNil() {
        #expect(WriteViews.delta(5, 9) == 4)
        #expect(WriteViews.delta(nil, 9) == nil && WriteViews.delta(5, nil) == nil)
        #expect(WriteViews.delta(9, 5) == nil)
    }
}

@Suite struct BlockDeviceTests {
    static let statLine = "  123  4  5678  90  2468  13  97531  42  0  100  200  0  0  0  0  0  0\n"

    @Test func sectorsWrittenIsFieldSeven() {
        #expect(BlockDevice.sectorsWritten(statText: Self.statLine) == 97_531)
        #expect(BlockDevice.sectorsWritten(statText: "1 2 3") == nil)
        #expect(BlockDevice.sectorsWritten(statText: "") == nil)
    }

    @Test func deviceNumbersSplitAsGlibcEncodesThem() {
        #expect(BlockDevice.split(deviceNumber: 0xfe00) == (254, 0))
        #expect(BlockDevice.split(deviceNumber: 0x0801) == (8, 1))
        let dev: UInt64 = 0x45 | (259 << 8) | (0x12300 << 12)   // glibc makedev(259, 0x12345)
        #expect(BlockDevice.split(deviceNumber: dev) == (259, 0x12345))
    }

    /// A fake sysfs: a whole disk, a partition of it, and nothing for major 0 (anonymous devices: overlay, tmpfs).
    @Test func lookupFollowsSysDevBlockAndNamesPartitions() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("kvbench-sysfs-\(getpid())-\(UInt64.random(in: 0..<UInt64.max))").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let disk = root + "/devices/pci0000:00/virtio1/block/vdb"
        let partition = disk + "/vdb1"
        try FileManager.default.createDirectory(atPath: partition, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root + "/dev/block", withIntermediateDirectories: true)
        try Self.statLine.write(toFile: disk + "/stat", atomically: true, encoding: .utf8)
        try Self.statLine.replacingOccurrences(of: "97531", with: "11").write(toFile: partition + "/stat", atomically: true, encoding: .utf8)
        try "1\n".write(toFile: partition + "/partition", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: root + "/dev/block/254:16", withDestinationPath: "../../devices/pci0000:00/virtio1/block/vdb")
        try FileManager.default.createSymbolicLink(atPath: root + "/dev/block/254:17", withDestinationPath: "../../devices/pci0000:00/virtio1/block/vdb/vdb1")

        let whole = try #require(BlockDevice.device(major: 254, minor: 16, sysfsRoot: root))
        #expect(whole.name == "vdb")
        #expect(whole.sectorsWritten() == 97_531)
        let part = try #require(BlockDevice.device(major: 254, minor: 17, sysfsRoot: root))
        #expect(part.name == "vdb1 (partition of vdb)")
        #expect(part.sectorsWritten() == 11)
        #expect(BlockDevice.device(major: 254, minor: 18, sysfsRoot: root) == nil, "no such device")
        #expect(BlockDevice.device(major: 0, minor: 45, sysfsRoot: root) == nil, "anonymous devices have no counters")
        #expect(BlockDevice.containing(root + "/missing", sysfsRoot: root) == nil)
    }
}
