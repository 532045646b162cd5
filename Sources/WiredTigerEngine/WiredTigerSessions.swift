import CWiredTiger
import KVStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A WiredTiger session with one open cursor on the store's table. Sessions are not
/// thread-safe: a pair is used by one thread at a time. The connection closes both when it
/// closes (`WT_CONNECTION::close` closes every session), so they have no deinit of their own.
struct WiredTigerSessionCursor {
    let session: UnsafeMutablePointer<WT_SESSION>
    let cursor: UnsafeMutablePointer<WT_CURSOR>

    /// Opens a session (with the session settings `config`) and a cursor on `uri`
    /// (`overwrite=true`, the default: inserts replace, removing a missing key is not an error).
    static func open(_ connection: UnsafeMutablePointer<WT_CONNECTION>, uri: String, config: String?, path: String,
                     engine: String) throws(StoreError) -> WiredTigerSessionCursor {
        var session: UnsafeMutablePointer<WT_SESSION>?
        try checkWiredTiger(connection.pointee.open_session(connection, nil, config, &session), "WT_CONNECTION::open_session", path: path, engine: engine)
        guard let session else { throw .engine(name: engine, message: "open_session returned no session") }
        var cursor: UnsafeMutablePointer<WT_CURSOR>?
        let code = session.pointee.open_cursor(session, uri, nil, nil, &cursor)
        guard code == 0, let cursor else {
            _ = session.pointee.close(session, nil)
            try checkWiredTiger(code == 0 ? WT_ERROR : code, "WT_SESSION::open_cursor(\(uri))", path: path, engine: engine)
            throw .engine(name: engine, message: "open_cursor returned no cursor")
        }
        return WiredTigerSessionCursor(session: session, cursor: cursor)
    }

    /// Closes the cursor and the session (for a pair opened for one nested `withCursor`).
    func close() {
        _ = cursor.pointee.close(cursor)
        _ = session.pointee.close(session, nil)
    }
}

/// One thread's sessions: `operations` for point reads and writes (auto-commit, or one
/// transaction per batch), and `scans`, opened on first use, for `withCursor`, whose snapshot
/// transaction must not take in writes the same thread makes while it iterates.
/// Only the owning thread touches it; after that thread exits it is handed to another.
final class WiredTigerThreadSession: @unchecked Sendable {
    let operations: WiredTigerSessionCursor
    var scans: WiredTigerSessionCursor?
    /// True while `scans` is lent to a `withCursor`; a nested one opens a pair of its own.
    var scanInUse = false
    weak var pool: WiredTigerSessionPool?

    init(operations: WiredTigerSessionCursor, pool: WiredTigerSessionPool) {
        self.operations = operations
        self.pool = pool
    }
}

/// Every thread's sessions of one store, found through a thread-specific key. When a thread
/// exits, its sessions go to an idle list for the next new thread, so a store used by many
/// short-lived threads stays within `session_max`.
final class WiredTigerSessionPool: Sendable {
    private struct State {
        var all: [WiredTigerThreadSession] = []
        var idle: [WiredTigerThreadSession] = []
        var closed = false
    }

    let key: pthread_key_t
    private let state = Mutex(State())

    init(path: String) throws(StoreError) {
        var key = pthread_key_t()
        let code = pthread_key_create(&key) { value in
            guard let value else { return }
            let slot = Unmanaged<WiredTigerThreadSession>.fromOpaque(value).takeUnretainedValue()
            slot.pool?.giveBack(slot)
        }
        guard code == 0 else { throw .io(operation: "pthread_key_create", path: path, errno: code) }
        self.key = key
    }

    /// The calling thread's sessions: an idle pair, or one made by `open`.
    func attach(_ open: () throws(StoreError) -> WiredTigerSessionCursor) throws(StoreError) -> WiredTigerThreadSession {
        let reused = state.withLock { state -> WiredTigerThreadSession? in state.idle.popLast() }
        let slot: WiredTigerThreadSession
        if let reused {
            slot = reused
        } else {
            slot = WiredTigerThreadSession(operations: try open(), pool: self)
            state.withLock { $0.all.append(slot) }
        }
        pthread_setspecific(key, Unmanaged.passUnretained(slot).toOpaque())
        return slot
    }

    private func giveBack(_ slot: WiredTigerThreadSession) {
        state.withLock { state in
            if !state.closed { state.idle.append(slot) }
        }
    }

    /// Forgets every thread's sessions (the connection's close closes them); the slots stay
    /// allocated until the pool is freed, so a thread that still holds one never sees freed memory.
    func close() {
        state.withLock { state in
            state.closed = true
            state.idle.removeAll()
        }
        pthread_key_delete(key)
    }
}
