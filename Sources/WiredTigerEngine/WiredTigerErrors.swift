import CWiredTiger
import KVStore
#if canImport(Glibc)
import Glibc
#endif

/// A failed WiredTiger call: the library's return code (an errno value, or one of
/// `WT_ROLLBACK` … `WT_TRY_SALVAGE`), its `wiredtiger_strerror` text and the last
/// message the library reported on this thread through the event handler.
struct WiredTigerFailure: Error, CustomStringConvertible {
    let code: Int32
    let operation: String
    let detail: String?

    var strerror: String { String(cString: wiredtiger_strerror(code)) }

    var description: String {
        var text = "\(operation): \(strerror) (code \(code))"
        if let detail, !detail.isEmpty { text += ": \(detail)" }
        return text
    }

    /// The matching `StoreError`: a full disk and other errno values are `.io`, a damaged
    /// file (`WT_TRY_SALVAGE`, a checksum or read error) is `.corruption`, the rest `.engine`.
    func storeError(path: String, engine: String) -> StoreError {
        let text = (detail ?? "").lowercased()
        if code == WT_TRY_SALVAGE || text.contains("checksum") || text.contains("corrupt") || text.contains("read error")
            || text.contains("illegal file format") || text.contains("salvage") {
            return .corruption(path: path, reason: description)
        }
        if code > 0 { return .io(operation: "WiredTiger \(description)", path: path, errno: code) }
        return .engine(name: engine, message: description)
    }
}

/// Messages WiredTiger reports through its event handler. The last error message of each
/// thread is kept for the error that the failing call returns next; every message also goes
/// to standard error (never standard output, which the crash-test worker speaks on).
enum WiredTigerEvents {
    /// The last error message per thread (a malloc'd C string, freed when replaced or when the thread exits).
    private static let lastMessageKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    /// The handler passed to `wiredtiger_open`; it lives as long as the process.
    nonisolated(unsafe) static let handler: UnsafeMutablePointer<WT_EVENT_HANDLER> = {
        let handler = UnsafeMutablePointer<WT_EVENT_HANDLER>.allocate(capacity: 1)
        handler.initialize(to: WT_EVENT_HANDLER(
            handle_error: { _, _, _, message in
                WiredTigerEvents.record(message)
                WiredTigerEvents.print(message)
                return 0
            },
            handle_message: { _, _, message in
                WiredTigerEvents.print(message)
                return 0
            },
            handle_progress: nil,
            handle_close: nil))
        return handler
    }()

    private static func record(_ message: UnsafePointer<CChar>?) {
        let previous = pthread_getspecific(lastMessageKey)
        pthread_setspecific(lastMessageKey, message.map { UnsafeRawPointer(strdup($0)) })
        free(previous)
    }

    private static func print(_ message: UnsafePointer<CChar>?) {
        guard let message else { return }
        let line = "wiredtiger: " + String(cString: message) + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Takes (and clears) the calling thread's last error message.
    static func takeLastMessage() -> String? {
        guard let stored = pthread_getspecific(lastMessageKey) else { return nil }
        pthread_setspecific(lastMessageKey, nil)
        defer { free(stored) }
        return String(cString: stored.assumingMemoryBound(to: CChar.self))
    }

    /// Forgets an earlier message, so that the next failure reports only its own.
    static func clearLastMessage() {
        if let stored = pthread_getspecific(lastMessageKey) {
            pthread_setspecific(lastMessageKey, nil)
            free(stored)
        }
    }
}

/// Throws the `StoreError` for a non-zero WiredTiger return code.
@inline(__always)
func checkWiredTiger(_ code: Int32, _ operation: @autoclosure () -> String, path: String, engine: String) throws(StoreError) {
    guard code != 0 else { return }
    throw WiredTigerFailure(code: code, operation: operation(), detail: WiredTigerEvents.takeLastMessage())
        .storeError(path: path, engine: engine)
}
