/// Operation names as they appear in every report.
public enum OperationKind: String, CaseIterable, Sendable, Codable, Hashable {
    case read, update, insert, delete, scan
    case readModifyWrite = "read_modify_write"
}

/// One operation of the stream: what to do and to which record.
public struct Operation: Sendable, Hashable {
    /// The kind of operation.
    public var kind: OperationKind
    /// YCSB mode: the field a one-field read (`readallfields=false`) or update (`writeallfields=false`) touches.
    public var field: UInt32
    /// The record (key) it touches; for `.scan`, the record the scan starts at.
    public var recordID: UInt64
    /// Entries to read, for `.scan`; 0 otherwise.
    public var scanLength: Int

    /// Creates an operation.
    @inlinable
    public init(kind: OperationKind, recordID: UInt64, scanLength: Int = 0, field: UInt32 = 0) {
        self.kind = kind
        self.field = field
        self.recordID = recordID
        self.scanLength = scanLength
    }
}

/// A workload error: a bad property file or a bad configuration.
/// `description` is one sentence naming the file line (where there is one) and what to do.
public struct WorkloadError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The message shown to the user.
    public let description: String

    /// Creates an error with the given message.
    public init(_ description: String) {
        self.description = description
    }
}
