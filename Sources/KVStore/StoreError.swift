/// Every error a store reports. Each case reads as one sentence saying what
/// happened and what to do; none of them means data was lost.
public enum StoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Empty keys are rejected by every engine (LMDB cannot store them).
    case emptyKey
    case keyTooLarge(size: Int, limit: Int)
    case valueTooLarge(size: Int, limit: Int)
    /// The store was closed; open it again to use it.
    case closed
    /// The directory is already open in this or another process.
    case alreadyOpen(path: String)
    /// The directory does not exist and `createIfMissing` was false.
    case notFound(path: String)
    /// The directory holds files that are not this engine's database.
    case notADatabase(path: String, reason: String)
    /// A checksum, magic number or structural check failed.
    case corruption(path: String, reason: String)
    /// The engine cannot do what was asked (for example LMDB with durability `none`).
    case unsupported(String)
    /// An engine-specific setting was unknown or had a bad value.
    case invalidOption(name: String, reason: String)
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// The underlying library reported an error; its message is kept verbatim.
    case engine(name: String, message: String)

    public var description: String {
        switch self {
        case .emptyKey:
            return "empty keys are not supported; use a key of at least one byte"
        case .keyTooLarge(let size, let limit):
            return "key of \(size) bytes exceeds this engine's limit of \(limit) bytes; use a shorter key"
        case .valueTooLarge(let size, let limit):
            return "value of \(size) bytes exceeds this engine's limit of \(limit) bytes; use a smaller value"
        case .closed:
            return "the store is closed; open it again before using it"
        case .alreadyOpen(let path):
            return "\(path) is already open in this or another process; close it there first"
        case .notFound(let path):
            return "no database at \(path); pass createIfMissing (or check the path)"
        case .notADatabase(let path, let reason):
            return "\(path) does not hold a database of this engine (\(reason)); choose an empty or matching directory"
        case .corruption(let path, let reason):
            return "corruption detected in \(path): \(reason); restore from a copy or recreate the database"
        case .unsupported(let what):
            return "not supported: \(what)"
        case .invalidOption(let name, let reason):
            return "invalid setting \(name): \(reason)"
        case .io(let operation, let path, let errno):
            return "\(operation) failed on \(path): \(errnoDescription(errno)) (errno \(errno))"
        case .engine(let name, let message):
            return "\(name) error: \(message)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

func errnoDescription(_ code: Int32) -> String {
    guard let text = strerror(code) else { return "unknown error" }
    return String(cString: text)
}
