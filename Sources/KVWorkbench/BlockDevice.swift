#if canImport(Glibc)
import Glibc
#endif

/// The block device a directory's filesystem lives on, and its write counter
/// (`/sys/dev/block/MAJ:MIN/stat`, field 7: sectors written, in 512-byte units).
///
/// The counter is the device's, not the process's: it counts every writer on
/// the machine (machine-wide), and what the device itself did beyond it
/// (journal, metadata). A partition is read through its own counter. There is
/// no device to read for a filesystem without one (tmpfs, overlay, btrfs
/// subvolumes, NFS: an anonymous device, major 0), or where `/sys` is not mounted.
public struct BlockDevice: Sendable, Hashable {
    /// The kernel's name of the device (`vda`, `sda1`, `dm-0`, `loop3`), and for a partition the disk it is on.
    public let name: String
    /// The `stat` file the counter is read from.
    public let statPath: String

    /// The device of the filesystem holding `path`, or nil where it has none or `sysfsRoot` does not describe it.
    public static func containing(_ path: String, sysfsRoot: String = "/sys") -> BlockDevice? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let (major, minor) = split(deviceNumber: UInt64(info.st_dev))
        return device(major: major, minor: minor, sysfsRoot: sysfsRoot)
    }

    /// Major and minor numbers of a `dev_t` (glibc's encoding: 12 bits of major and 20 of minor, split).
    public static func split(deviceNumber: UInt64) -> (major: UInt64, minor: UInt64) {
        let major = ((deviceNumber >> 8) & 0xfff) | ((deviceNumber >> 32) & ~UInt64(0xfff))
        let minor = (deviceNumber & 0xff) | ((deviceNumber >> 12) & ~UInt64(0xff))
        return (major, minor)
    }

    /// The device `major:minor` as `sysfsRoot` describes it, or nil (major 0 is never a block device).
    public static func device(major: UInt64, minor: UInt64, sysfsRoot: String = "/sys") -> BlockDevice? {
        guard major != 0 else { return nil }
        let link = "\(sysfsRoot)/dev/block/\(major):\(minor)"
        let statPath = link + "/stat"
        guard let text = readProcFile(statPath), sectorsWritten(statText: text) != nil else { return nil }
        var name = "\(major):\(minor)"
        var resolved = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(link, &resolved) != nil {
            let components = String(cString: resolved).split(separator: "/")
            if let last = components.last { name = String(last) }
            if access(link + "/partition", F_OK) == 0, components.count >= 2 {
                name += " (partition of \(components[components.count - 2]))"
            }
        }
        return BlockDevice(name: name, statPath: statPath)
    }

    /// Writes back every filesystem's dirty data (`sync`), so that the device counter includes what the phase wrote.
    public static func syncAll() {
        sync()
    }

    /// Sectors written so far, or nil when the counter cannot be read.
    public func sectorsWritten() -> UInt64? {
        readProcFile(statPath).flatMap(Self.sectorsWritten(statText:))
    }

    /// Field 7 of a block device's `stat` line (sectors written), or nil for anything else.
    public static func sectorsWritten(statText: String) -> UInt64? {
        let fields = statText.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" })
        guard fields.count >= 11 else { return nil }
        return UInt64(fields[6])
    }
}
