import Foundation
import KVStore
import StorageIO

/// The working directory of `crash-test` or `corrupt-test`: a temporary one (removed at the end), or
/// `--dir`, which the command owns only if it is new, empty or marked by an earlier run of the same
/// command. The directory is claimed (`DirectoryClaim`) before it is inspected, and a subdirectory
/// another kvbench holds open is never deleted.
struct WorkDirectory {
    /// The file that marks a directory as created by a kvbench fault command; it names the command.
    static let markerName = "KVBENCH-WORKDIR"

    let path: String
    /// True for a temporary directory, removed by `remove()`.
    let temporary: Bool
    let claim: DirectoryClaim?

    /// Prepares the working directory of `command` (e.g. "crash-test").
    static func prepare(dir: String?, command: String, temporaryPrefix: String) throws -> WorkDirectory {
        guard let dir else {
            return WorkDirectory(path: try FileSystem.makeTemporaryDirectory(prefix: temporaryPrefix), temporary: true, claim: nil)
        }
        let claim = try BenchmarkOptions.claim(dir)
        let marker = dir + "/" + markerName
        let entries = try FileSystem.list(dir).filter { $0 != markerName }
        let owner = FileManager.default.contents(atPath: marker)
        if !entries.isEmpty {
            guard let owner, String(decoding: owner, as: UTF8.self) == Self.markerText(command) else {
                throw CommandFailure("\(dir) is not empty and was not created by kvbench \(command) (it has no \(markerName) file of \(command)); "
                                     + "give a new or empty directory, or leave out --dir for a temporary one", status: .usage)
            }
            for name in entries where FileSystem.isDirectory(dir + "/" + name) && DirectoryClaim.isHeldElsewhere(dir + "/" + name) {
                throw CommandFailure("\(dir)/\(name) is open in another kvbench process; wait for it to finish or give another --dir", status: .usage)
            }
        }
        if owner == nil {
            guard FileManager.default.createFile(atPath: marker, contents: Data(markerText(command).utf8)) else {
                throw CommandFailure("cannot write \(marker); give a --dir you can write to", status: .usage)
            }
        }
        return WorkDirectory(path: dir, temporary: false, claim: claim)
    }

    static func markerText(_ command: String) -> String { "kvbench \(command)\n" }

    /// Removes a temporary directory and releases the claim on a given one.
    func finish() {
        if temporary { try? FileSystem.removeTree(path) }
        claim?.release()
    }
}
