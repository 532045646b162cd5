import KVStore

extension StorageFile {
    /// Every byte of the file at `path`, read through a read-only open.
    public static func contents(of path: String) throws(StoreError) -> Bytes {
        let file = try StorageFile(path: path, mode: .readOnly)
        return try file.read(at: 0, count: try file.size())
    }
}
