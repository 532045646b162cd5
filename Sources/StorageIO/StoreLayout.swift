/// Where the parts of a closed store's files lie, as the engine that wrote them
/// reads them: what `kvbench corrupt-test` damages. An engine whose format KVBench
/// defines lists its files this way (`LSMStore.layout(directory:)`,
/// `BTreeStore.layout(directory:)`), so the corruption plans never re-parse a format
/// and cannot drift from it. Offsets are byte offsets in the file.
public enum StoreFileLayout: Sendable, Equatable {
    case recordLog(RecordLogLayout)
    case table(TableLayout)
    case pageFile(PageFileLayout)
}

/// A file of framed records (`FramedRecords`), possibly after a header.
public struct RecordLogLayout: Sendable, Equatable {
    public var file: String
    /// What the log is, as case names say it ("log", "manifest", "redo log (active)").
    public var label: String
    public var size: Int
    /// The file header's magic number, when the file has a header.
    public var magic: Range<Int>?
    /// Start offsets of its intact records, in order.
    public var records: [Int]

    public init(file: String, label: String, size: Int, magic: Range<Int>? = nil, records: [Int]) {
        self.file = file
        self.label = label
        self.size = size
        self.magic = magic
        self.records = records
    }
}

/// A sorted table: data blocks, then its filter and index blocks and a footer.
public struct TableLayout: Sendable, Equatable {
    public var file: String
    public var size: Int
    public var dataBlocks: Range<Int>
    /// The filter and index blocks, when the footer locates them inside the file.
    public var filter: Range<Int>?
    public var index: Range<Int>?
    /// The footer's block handles (offsets and sizes of the filter and index blocks).
    public var footerHandles: Range<Int>
    /// The footer's magic number.
    public var magic: Range<Int>

    public init(file: String, size: Int, dataBlocks: Range<Int>, filter: Range<Int>?, index: Range<Int>?,
                footerHandles: Range<Int>, magic: Range<Int>) {
        self.file = file
        self.size = size
        self.dataBlocks = dataBlocks
        self.filter = filter
        self.index = index
        self.footerHandles = footerHandles
        self.magic = magic
    }
}

/// A file of fixed-size pages with two meta pages and a tree.
public struct PageFileLayout: Sendable, Equatable {
    public var file: String
    public var size: Int
    public var pageSize: Int
    /// The meta page of the newest checkpoint and the one before it.
    public var newestMeta: MetaPageLayout
    public var olderMeta: MetaPageLayout
    /// The root page (nil for an empty tree or a root outside the file).
    public var root: TreePageLayout?
    /// A leaf page (the leftmost; the root itself when it is a leaf).
    public var leaf: TreePageLayout?

    public init(file: String, size: Int, pageSize: Int, newestMeta: MetaPageLayout, olderMeta: MetaPageLayout,
                root: TreePageLayout?, leaf: TreePageLayout?) {
        self.file = file
        self.size = size
        self.pageSize = pageSize
        self.newestMeta = newestMeta
        self.olderMeta = olderMeta
        self.root = root
        self.leaf = leaf
    }
}

/// Fields of one meta page.
public struct MetaPageLayout: Sendable, Equatable {
    public var magic: Range<Int>
    /// The root page number.
    public var root: Range<Int>
    /// The checkpoint number, which orders the two meta pages.
    public var checkpoint: Range<Int>

    public init(magic: Range<Int>, root: Range<Int>, checkpoint: Range<Int>) {
        self.magic = magic
        self.root = root
        self.checkpoint = checkpoint
    }
}

/// Parts of one tree page.
public struct TreePageLayout: Sendable, Equatable {
    public var page: Range<Int>
    public var isLeaf: Bool
    /// The page-type field of its header.
    public var type: Range<Int>
    /// Its slot array (cell offsets, in key order).
    public var slots: Range<Int>
    /// A byte inside a cell.
    public var cellByte: Int
    /// A byte of a stored value (leaves).
    public var valueByte: Int?

    public init(page: Range<Int>, isLeaf: Bool, type: Range<Int>, slots: Range<Int>, cellByte: Int, valueByte: Int?) {
        self.page = page
        self.isLeaf = isLeaf
        self.type = type
        self.slots = slots
        self.cellByte = cellByte
        self.valueByte = valueByte
    }
}
