/// Write amplification of one phase in every view: bytes written, as each
/// layer counts them, divided by the user bytes the engine was given.
///
/// - engine: the engine's own counters of what it wrote to its files; an
///   engine without such a counter (LMDB) gets the issued view, and
///   `engineSource` says `wchar`;
/// - issued: bytes passed to write system calls (`wchar`);
/// - OS: bytes the kernel charged the process for write-back (`write_bytes − cancelled_write_bytes`);
/// - device: sectors written on the data directory's block device × 512, machine-wide.
public struct WriteViews: Sendable, Equatable {
    /// Bytes in the engine view, and where they came from (`engine` counters or `wchar`).
    public var engineBytes: UInt64?
    public var engineSource: String?
    public var issuedBytes: UInt64?
    public var osBytes: UInt64?
    public var deviceBytes: UInt64?
    public var engine: Double?
    public var issued: Double?
    public var os: Double?
    public var device: Double?

    /// The views from the deltas over a phase; nil where a counter was not available, and every ratio nil without user bytes.
    public init(userBytes: UInt64, engineBytes: UInt64?, issuedBytes: UInt64?, osBytes: UInt64?, deviceSectors: UInt64?) {
        if let engineBytes {
            self.engineBytes = engineBytes
            engineSource = "engine"
        } else if let issuedBytes {
            self.engineBytes = issuedBytes
            engineSource = "wchar"
        }
        self.issuedBytes = issuedBytes
        self.osBytes = osBytes
        deviceBytes = deviceSectors.map { $0 &* 512 }
        func ratio(_ bytes: UInt64?) -> Double? {
            guard let bytes, userBytes > 0 else { return nil }
            return Double(bytes) / Double(userBytes)
        }
        engine = ratio(self.engineBytes)
        issued = ratio(issuedBytes)
        os = ratio(osBytes)
        device = ratio(deviceBytes)
    }

    /// `after − before` of a counter, or nil when either is missing or the counter went backwards.
    public static func delta(_ before: UInt64?, _ after: UInt64?) -> UInt64? {
        guard let before, let after, after >= before else { return nil }
        return after - before
    }
}
