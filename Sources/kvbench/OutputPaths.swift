import Foundation
import KVResults
import StorageIO

/// Checks of `--json` and `--out` paths before a run starts, and writes whose errors are said in words.
enum OutputPaths {
    /// Refuses a `--json` path that cannot be written: a directory, a missing or unwritable parent directory.
    static func checkFile(_ path: String, option: String) throws {
        if FileSystem.isDirectory(path) {
            throw CommandFailure("\(option) \(path) is a directory; give a file path such as \(path)/results.json", status: .usage)
        }
        try checkWritableDirectory(parent(of: path), for: path, option: option)
        if FileSystem.exists(path) && access(path, W_OK) != 0 {
            throw CommandFailure("\(option) \(path) exists and cannot be written (\(String(cString: strerror(errno)))); give another path", status: .usage)
        }
    }

    /// Refuses an `--out` directory that cannot be created or written: a file, or below a file or an unwritable directory.
    static func checkDirectory(_ path: String, option: String) throws {
        var existing = path
        while !FileSystem.exists(existing) { existing = parent(of: existing) }
        guard FileSystem.isDirectory(existing) else {
            throw CommandFailure("\(option) \(path) cannot be a directory: \(existing) is a file; give another directory", status: .usage)
        }
        try checkWritableDirectory(existing, for: path, option: option)
    }

    /// The directory that holds `path`: "." for a bare name, "/" at the root, trailing slashes ignored.
    static func parent(of path: String) -> String {
        var trimmed = Substring(path)
        while trimmed.count > 1 && trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        guard let slash = trimmed.lastIndex(of: "/") else { return "." }
        return slash == trimmed.startIndex ? "/" : String(trimmed[..<slash])
    }

    private static func checkWritableDirectory(_ directory: String, for path: String, option: String) throws {
        guard FileSystem.exists(directory) else {
            throw CommandFailure("\(option) \(path): the directory \(directory) does not exist; create it or give another path", status: .usage)
        }
        guard FileSystem.isDirectory(directory) else {
            throw CommandFailure("\(option) \(path): \(directory) is a file, not a directory; give another path", status: .usage)
        }
        guard access(directory, W_OK | X_OK) == 0 else {
            throw CommandFailure("\(option) \(path): cannot write in \(directory) (\(String(cString: strerror(errno)))); give a path you can write to", status: .usage)
        }
    }

    /// Writes `results` as JSON to `path`; a failure is one line naming the path and the system's reason.
    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data: Data
        do {
            data = try encoder.encode(value)
        } catch {
            throw CommandFailure("cannot encode the results as JSON: \(describe(error))")
        }
        do {
            try data.write(to: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure("cannot write \(path): \(describe(error))")
        }
    }

    /// A Foundation or POSIX error in words (the underlying `strerror` text where there is one).
    static func describe(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        if let cocoa = error as? CocoaError {
            switch cocoa.code {
            case .fileNoSuchFile, .fileWriteInvalidFileName: return "no such file or directory"
            case .fileWriteNoPermission: return "permission denied"
            case .fileWriteOutOfSpace: return "no space left on device"
            case .fileWriteVolumeReadOnly: return "read-only file system"
            case .fileWriteFileExists: return "a file of that name exists"
            default: break
            }
        }
        return "\(error)"
    }
}
