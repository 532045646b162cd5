import KVStore
import StorageIO

/// One write-ahead log file (`NNNNNN.log`): its number and the framed-record
/// writer (`FramedRecords`) appending to it. Owned by one thread at a time (the
/// store's writer under its monitor).
struct LogFile {
    /// File number, used in its name and by group commit.
    let number: UInt64
    let records: FramedRecordWriter

    /// Creates the empty log `number` in `directory` and syncs the directory.
    static func create(in directory: String, number: UInt64) throws(StoreError) -> LogFile {
        let file = try StorageFile(path: LSMFileName.log(number).path(in: directory), mode: .createNew)
        try FileSystem.syncDirectory(directory)
        return LogFile(number: number, records: FramedRecordWriter(file: file, offset: 0))
    }
}
