import CWiredTiger
import KVStore
import Synchronization
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
    /// A full disk is `.io` with `ENOSPC` also when WiredTiger panicked over it (a failed log
    /// write is fatal to it), in one sentence; its messages went to standard error.
    func storeError(path: String, engine: String) -> StoreError {
        let text = (detail ?? "").lowercased()
        if code == ENOSPC || text.contains("no space left on device") || (code == WT_PANIC && WiredTigerEvents.sawFullDisk) {
            let consequence = code == WT_PANIC
                ? "the disk is full, and WiredTiger panicked: this process must exit, then free space and open the database again"
                : "the disk is full"
            return .io(operation: "WiredTiger \(operation) (\(consequence))", path: path, errno: ENOSPC)
        }
        if code == WT_TRY_SALVAGE || text.contains("checksum") || text.contains("corrupt") || text.contains("read error")
            || text.contains("illegal file format") || text.contains("salvage") {
            return .corruption(path: path, reason: description)
        }
        if code > 0 { return .io(operation: "WiredTiger \(description)", path: path, errno: code) }
        return .engine(name: engine, message: description)
    }
}

/// Messages WiredTiger reports through its event handler. A thread's error messages since
/// its last failure was reported are kept for the error the failing call returns: the first
/// names the cause (a checksum mismatch), the last the consequence (a panic). Every message
/// also goes to standard error (never standard output, which the crash-test worker speaks on).
enum WiredTigerEvents {
    /// Error messages kept per thread, at most this many bytes (the first ones win).
    private static let keptBytes = 1200

    /// The messages per thread (a malloc'd C string, freed when taken or when the thread exits).
    private static let messagesKey: pthread_key_t = {
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

    /// Set when any WiredTiger thread reported `No space left on device` since the last open:
    /// a log or eviction thread's failed write panics the connection, and the panic the
    /// caller's thread then gets carries none of those messages.
    private static let fullDisk = Atomic<Bool>(false)

    /// Whether a WiredTiger thread reported a full disk since the last `forgetFullDisk()`.
    static var sawFullDisk: Bool { fullDisk.load(ordering: .relaxed) }

    /// Called at open: a new connection starts with no full disk seen.
    static func forgetFullDisk() { fullDisk.store(false, ordering: .relaxed) }

    private static func record(_ message: UnsafePointer<CChar>?) {
        guard let message else { return }
        if strstr(message, "No space left on device") != nil { fullDisk.store(true, ordering: .relaxed) }
        let previous = pthread_getspecific(messagesKey).map { String(cString: $0.assumingMemoryBound(to: CChar.self)) }
        // WiredTiger follows a checksum error with a hex dump of the block: keep the start of each message.
        var text = String(cString: message)
        if text.utf8.count > 400 { text = String(decoding: text.utf8.prefix(400), as: UTF8.self) + " …" }
        if let previous, previous.utf8.count >= keptBytes { return }
        let joined = previous.map { $0 + " / " + text } ?? text
        free(pthread_getspecific(messagesKey))
        pthread_setspecific(messagesKey, UnsafeRawPointer(strdup(joined)))
    }

    private static func print(_ message: UnsafePointer<CChar>?) {
        guard let message else { return }
        let line = "wiredtiger: " + String(cString: message) + "\n"
        _ = line.withCString { write(2, $0, strlen($0)) }
    }

    /// Takes (and clears) the calling thread's error messages.
    static func takeMessages() -> String? {
        guard let stored = pthread_getspecific(messagesKey) else { return nil }
        pthread_setspecific(messagesKey, nil)
        defer { free(stored) }
        return String(cString: stored.assumingMemoryBound(to: CChar.self))
    }

    /// Forgets earlier messages, so that the next failure reports only its own.
    static func clearMessages() {
        if let stored = pthread_getspecific(messagesKey) {
            pthread_setspecific(messagesKey, nil)
            free(stored)
        }
    }
}

/// Throws the `StoreError` for a non-zero WiredTiger return code.
@inline(__always)
func checkWiredTiger(_ code: Int32, _ operation: @autoclosure () -> String, path: String, engine: String) throws(StoreError) {
    guard code != 0 else { return }
    throw WiredTigerFailure(code: code, operation: operation(), detail: WiredTigerEvents.takeMessages())
        .storeError(path: path, engine: engine)
}
