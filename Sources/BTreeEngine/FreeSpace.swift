/// A page number freed by commit `freedAt`.
struct PendingPage {
    var pgno: UInt32
    var freedAt: UInt64
}

/// First-in, first-out queue of pending pages (append at the back, release from the front).
struct PendingQueue {
    private(set) var items: [PendingPage] = []
    private var head = 0

    var count: Int { items.count - head }
    var isEmpty: Bool { head == items.count }
    var front: PendingPage? { head < items.count ? items[head] : nil }

    mutating func append(_ page: PendingPage) { items.append(page) }

    mutating func popFront() -> PendingPage {
        let page = items[head]
        head += 1
        if head >= 4096 && head * 2 >= items.count {
            items.removeFirst(head)
            head = 0
        }
        return page
    }

    /// Removes the `n` most recently appended pages (undo of an aborted commit) and returns them.
    mutating func dropLast(_ n: Int) -> [UInt32] {
        let dropped = items.suffix(n).map(\.pgno)
        items.removeLast(n)
        return dropped
    }

    var pgnos: some Sequence<UInt32> { items[head...].lazy.map(\.pgno) }
}

/// Which pages of the file are free, and when freed pages may be reused.
///
/// A page replaced or deleted by commit T stays readable by reader snapshots
/// older than T, so it waits until no reader holds such a snapshot. A page
/// that was part of a checkpointed tree also waits until neither meta page
/// references it (both metas' commits are at or after T); a page created and
/// freed again between two checkpoints never reached a meta page and waits for
/// readers only. Pages freed inside the commit that created them are reusable
/// as soon as that commit ends.
struct FreeSpace {
    /// Reusable now.
    var reusable: [UInt32] = []
    /// Waiting for readers only.
    var pendingReaders = PendingQueue()
    /// Waiting for readers and for the older meta page.
    var pendingDisk = PendingQueue()
    /// Pages freed by the open commit that it had created itself.
    var freedInCommit: [UInt32] = []
    /// Pages handed out during the open commit (returned on abort).
    var allocatedInCommit: [UInt32] = []
    var appendedReaders = 0
    var appendedDisk = 0
    /// Pages in the file (the next new page number).
    var pageCount: UInt32

    init(pageCount: UInt32) { self.pageCount = pageCount }

    /// Every free page, reusable or pending.
    var totalFree: Int { reusable.count + pendingReaders.count + pendingDisk.count + freedInCommit.count }

    /// Records a page freed by commit `txn`; `birth` is the commit that created it,
    /// `newestCheckpoint` the commit of the newest meta page.
    mutating func free(_ pgno: UInt32, birth: UInt64, txn: UInt64, newestCheckpoint: UInt64) {
        if birth == txn {
            freedInCommit.append(pgno)
        } else if birth > newestCheckpoint {
            pendingReaders.append(PendingPage(pgno: pgno, freedAt: txn))
            appendedReaders += 1
        } else {
            pendingDisk.append(PendingPage(pgno: pgno, freedAt: txn))
            appendedDisk += 1
        }
    }

    /// Moves pending pages that no reader (all readers at or after `oldestReader`)
    /// and no meta page (older meta at `olderCheckpoint`) can reach into `reusable`;
    /// returns the pages released so that their stale frames can be dropped.
    mutating func release(oldestReader: UInt64, olderCheckpoint: UInt64, into released: inout [UInt32]) {
        while let page = pendingReaders.front, page.freedAt <= oldestReader {
            _ = pendingReaders.popFront()
            reusable.append(page.pgno)
            released.append(page.pgno)
        }
        let limit = min(oldestReader, olderCheckpoint)
        while let page = pendingDisk.front, page.freedAt <= limit {
            _ = pendingDisk.popFront()
            reusable.append(page.pgno)
            released.append(page.pgno)
        }
    }

    /// A reusable page, or nil when a new page at the end of the file is needed.
    mutating func takeReusable() -> UInt32? { reusable.popLast() }

    /// A new page at the end of the file.
    mutating func extend() -> UInt32 {
        let pgno = pageCount
        pageCount += 1
        return pgno
    }

    /// Ends the open commit successfully.
    mutating func commit() {
        reusable.append(contentsOf: freedInCommit)
        freedInCommit.removeAll(keepingCapacity: true)
        allocatedInCommit.removeAll(keepingCapacity: true)
        appendedReaders = 0
        appendedDisk = 0
    }

    /// Undoes the open commit's frees of pages that existed before it (returned) and takes back its allocations.
    mutating func abort() -> [UInt32] {
        var undone = pendingReaders.dropLast(appendedReaders)
        undone.append(contentsOf: pendingDisk.dropLast(appendedDisk))
        reusable.append(contentsOf: allocatedInCommit)
        freedInCommit.removeAll(keepingCapacity: true)
        allocatedInCommit.removeAll(keepingCapacity: true)
        appendedReaders = 0
        appendedDisk = 0
        return undone
    }
}
