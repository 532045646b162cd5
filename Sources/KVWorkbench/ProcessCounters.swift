#if canImport(Glibc)
import Glibc
#endif

/// The I/O counters of this process from `/proc/self/io` (Linux). They cover
/// every thread of the process, background compaction threads included.
public struct ProcessIOCounters: Sendable, Hashable {
    /// Bytes passed to read-like system calls.
    public var rchar: UInt64
    /// Bytes passed to write-like system calls.
    public var wchar: UInt64
    /// Bytes fetched from storage.
    public var readBytes: UInt64
    /// Bytes charged for write-back when pages were dirtied.
    public var writeBytes: UInt64
    /// Dirty bytes of files removed or truncated before write-back.
    public var cancelledWriteBytes: UInt64

    /// Reads the current counters, or nil where `/proc/self/io` is unavailable.
    public static func current() -> ProcessIOCounters? {
        guard let text = readProcFile("/proc/self/io") else { return nil }
        var values: [Substring: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { values[parts[0]] = UInt64(parts[1].drop(while: { $0 == " " })) }
        }
        guard let rchar = values["rchar"], let wchar = values["wchar"], let readBytes = values["read_bytes"],
              let writeBytes = values["write_bytes"], let cancelled = values["cancelled_write_bytes"] else { return nil }
        return ProcessIOCounters(rchar: rchar, wchar: wchar, readBytes: readBytes, writeBytes: writeBytes, cancelledWriteBytes: cancelled)
    }
}

/// Memory and CPU figures of this process.
public enum ProcessUsage {
    /// Peak resident set size (`VmHWM`) in bytes.
    public static func peakResidentBytes() -> UInt64? {
        statusField("VmHWM")
    }

    /// Resets the peak resident set size to the current one (writes 5 to `/proc/self/clear_refs`),
    /// so that each phase reports its own peak. Returns false where the kernel refuses.
    @discardableResult
    public static func resetPeakResident() -> Bool {
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
    }

    /// User + system CPU seconds of the whole process.
    public static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6
            + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    private static func statusField(_ name: String) -> UInt64? {
        guard let text = readProcFile("/proc/self/status") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let digits = line.dropFirst(name.count + 1).filter { $0.isNumber }
            if let kibibytes = UInt64(digits) { return kibibytes * 1024 }
        }
        return nil
    }
}

/// Reads a small text file in full (for `/proc` and `/sys`), or nil.
func readProcFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count <= 0 { break }
        bytes.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: bytes, as: UTF8.self)
}
