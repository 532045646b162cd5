import Foundation
import KVResults

/// The textbook cost of one engine configuration after loading its records: write amplification of
/// the load, read amplification (structures probed per point lookup of a loaded key) and space
/// amplification at the end of the load. Formulas and their sources are in docs/results.md
/// ("The model beside the measurement"); a figure the model does not cover is nil.
public struct ModelCost: Sendable, Equatable {
    /// The shape the model derived, in words: "leveled LSM, 2 levels below L0 (T = 10)".
    public var structure: String
    public var writeAmp: Double?
    public var readAmp: Double?
    public var spaceAmp: Double?

    public init(structure: String, writeAmp: Double?, readAmp: Double?, spaceAmp: Double?) {
        self.structure = structure
        self.writeAmp = writeAmp
        self.readAmp = readAmp
        self.spaceAmp = spaceAmp
    }
}

/// Textbook cost models of the LSM tree (leveled, tiered, lazy leveling) and the B+tree, as functions of
/// the configuration an engine reports and the run's parameters.
public enum CostModel {
    /// An LSM tree's configuration and data.
    public struct LSM: Sendable {
        /// Leveled: one run per level; tiered: up to T runs per level; lazy leveling: tiered
        /// at every level but the deepest, which is leveled (Dostoevsky).
        public enum Strategy: String, Sendable { case leveled, tiered, lazyLeveling = "lazy-leveling" }
        public var strategy: Strategy
        public var records: Int
        public var keyBytes: Int
        public var valueBytes: Int
        /// The write buffer: a memtable is flushed at this size.
        public var memtableBytes: Int
        /// T: each level is T times the one above.
        public var sizeRatio: Int
        /// Capacity of level 1; nil: M × T (the textbook's first level).
        public var baseLevelBytes: Int?
        /// L0 files that trigger their compaction into level 1 (L0's capacity in memtables).
        public var l0CompactionTrigger: Int
        public var bloomBitsPerKey: Int
        /// True when every write goes to a log first.
        public var logged: Bool
        /// Bytes a log record adds to key and value (framing, sequence, lengths); bytes a table entry adds (trailer, lengths).
        public var logOverheadBytes: Int = 21
        public var tableOverheadBytes: Int = 11
        /// Bytes a memtable entry takes beyond key and value: a 24-byte node header, 1⅓ links of 8 bytes, rounding to 8.
        public var memtableOverheadBytes: Int = 38

        public init(strategy: Strategy, records: Int, keyBytes: Int, valueBytes: Int, memtableBytes: Int, sizeRatio: Int,
                    baseLevelBytes: Int?, l0CompactionTrigger: Int, bloomBitsPerKey: Int, logged: Bool) {
            self.strategy = strategy
            self.records = records
            self.keyBytes = keyBytes
            self.valueBytes = valueBytes
            self.memtableBytes = memtableBytes
            self.sizeRatio = sizeRatio
            self.baseLevelBytes = baseLevelBytes
            self.l0CompactionTrigger = l0CompactionTrigger
            self.bloomBitsPerKey = bloomBitsPerKey
            self.logged = logged
        }
    }

    /// A B+tree's configuration and data.
    public struct BTree: Sendable {
        public var records: Int
        public var keyBytes: Int
        public var valueBytes: Int
        public var pageBytes: Int
        /// True when records arrive in key order (append splits fill pages); else random order.
        public var sequential: Bool
        public var logged: Bool
        /// Dirty pages that trigger a checkpoint, and log bytes that do; nil: every commit writes its
        /// copy-on-write path (no buffering, as LMDB).
        public var checkpointPages: Int?
        public var checkpointLogBytes: Int?
        /// Bytes of page header, of a slot, of a leaf cell's and a branch cell's header, of a log record's framing.
        public var pageHeaderBytes = 32, slotBytes = 10, leafCellBytes = 6, branchCellBytes = 6, logOverheadBytes = 30

        public init(records: Int, keyBytes: Int, valueBytes: Int, pageBytes: Int, sequential: Bool, logged: Bool,
                    checkpointPages: Int?, checkpointLogBytes: Int?) {
            self.records = records
            self.keyBytes = keyBytes
            self.valueBytes = valueBytes
            self.pageBytes = pageBytes
            self.sequential = sequential
            self.logged = logged
            self.checkpointPages = checkpointPages
            self.checkpointLogBytes = checkpointLogBytes
        }
    }

    /// The levels of an LSM tree holding `data` bytes below L0: for level 1 … L, (capacity, bytes
    /// held), the upper levels full and the last one holding the rest.
    static func levels(_ lsm: LSM, data: Double) -> [(capacity: Double, held: Double)] {
        let ratio = Double(lsm.sizeRatio)
        var capacity = Double(lsm.baseLevelBytes ?? lsm.memtableBytes * lsm.sizeRatio)
        var levels: [(capacity: Double, held: Double)] = []
        var left = data
        while left > 0 && levels.count < 64 {
            let held = min(capacity, left)
            levels.append((capacity, held))
            left -= held
            capacity *= ratio
        }
        return levels
    }

    /// Flushes: a memtable holds ⌊M / (E + memtable overhead)⌋ entries, so F = ⌊N / that⌋ flushes;
    /// F mod trigger of them are still L0 files at the end (L0 is compacted into L1 whole at the
    /// trigger), the rest of the flushed data is in the levels, the remainder in the memtable.
    /// Leveled: a byte entering level i (r_i = bytes held there ÷ capacity of the level above, in
    /// chunks of the level above) is rewritten (r_i + 1)/2 times over the level's fill (the k-th chunk
    /// merges with the k − 1 already there), at least once; tiered: once per level; lazy leveling:
    /// tiered above the deepest level, leveled into it. Plus the log and
    /// the flush. Read: a key in the memtable costs no probe, in L0 file j (newest first) j probes,
    /// in a level every L0 file and then one run per level (leveled) or every run of a level
    /// (tiered, r_i runs; lazy leveling: r_i above the deepest, one there) down to its level. Space: tables plus bloom filters plus the memtable's log.
    public static func lsm(_ lsm: LSM) -> ModelCost {
        let user = Double(lsm.keyBytes + lsm.valueBytes)
        let records = Double(lsm.records)
        let data = records * user
        let table = (user + Double(lsm.tableOverheadBytes)) / user
        let log = lsm.logged ? (user + Double(lsm.logOverheadBytes)) / user : 0
        let bloom = Double(lsm.bloomBitsPerKey) / 8 / user
        let memtable = Double(lsm.memtableBytes)
        let perMemtable = max(1, (memtable / (user + Double(lsm.memtableOverheadBytes))).rounded(.down))
        let flushes = (records / perMemtable).rounded(.down)
        let l0Files = flushes.truncatingRemainder(dividingBy: Double(max(1, lsm.l0CompactionTrigger)))
        let inMemtable = (records - flushes * perMemtable) / records
        let inL0 = l0Files * perMemtable / records
        let inLevels = 1 - inMemtable - inL0
        let name = "\(lsm.strategy.rawValue) LSM"
        var writeAmp = log + table * (1 - inMemtable)
        var readAmp = inL0 * (l0Files + 1) / 2 + inLevels * l0Files
        var levels: [(capacity: Double, held: Double)] = []
        if inLevels > 0 {
            levels = Self.levels(lsm, data: inLevels * data)
            var above = Double(max(1, lsm.l0CompactionTrigger)) * perMemtable * user
            var reached = inLevels * data
            for (depth, level) in levels.enumerated() {
                let fraction = reached / data
                let runs = max(1, level.held / above)
                let leveledHere = lsm.strategy == .leveled || (lsm.strategy == .lazyLeveling && depth == levels.count - 1)
                if leveledHere {
                    writeAmp += fraction * table * max(1, (runs + 1) / 2)
                    readAmp += fraction
                } else {
                    writeAmp += fraction * table
                    readAmp += fraction * runs.rounded(.up)
                }
                reached -= level.held
                above = level.capacity
            }
        }
        let spaceAmp = (table + bloom) * (1 - inMemtable) + log * inMemtable
        let shape = levels.isEmpty ? "no level below L0" : "\(levels.count) level\(levels.count == 1 ? "" : "s") below L0"
        let structure = "\(name): \(Int(flushes)) flush\(flushes == 1 ? "" : "es") of \(Int(perMemtable)) entries, \(Int(l0Files)) left in L0, \(shape) (T = \(lsm.sizeRatio), L1 \(megabytes(Double(lsm.baseLevelBytes ?? lsm.memtableBytes * lsm.sizeRatio)))); \(String(format: "%.0f", inMemtable * 100)) % of the data in the memtable"
        return ModelCost(structure: structure, writeAmp: writeAmp, readAmp: readAmp, spaceAmp: spaceAmp)
    }

    /// Page geometry: leaf entries per page, branch fanout, fill (ln 2 ≈ 0.69 for random inserts,
    /// Yao; 1 for appends), leaves and height h = 1 + ⌈log_{fanout·fill}(leaves)⌉. Read: h pages per
    /// lookup. Space: pages × page size ÷ live bytes. Write: log record plus page writes per commit ×
    /// page size; without buffering a commit writes its copy-on-write path (h pages); with checkpoints
    /// every C commits, the distinct pages C random commits dirty, n(1 − e^(−C/n)) per level of n pages,
    /// divided by C, C ending at the dirty-page or log-byte limit.
    public static func btree(_ tree: BTree) -> ModelCost {
        let user = Double(tree.keyBytes + tree.valueBytes)
        let usable = Double(tree.pageBytes - tree.pageHeaderBytes)
        let inlineCell = tree.leafCellBytes + tree.keyBytes + tree.valueBytes
        let overflows = inlineCell > tree.pageBytes / 4
        let leafEntry = Double(tree.slotBytes + (overflows ? tree.leafCellBytes + tree.keyBytes + 4 : inlineCell))
        let overflowPages = overflows ? (Double(tree.valueBytes) / usable).rounded(.up) : 0
        let fill = tree.sequential ? 1.0 : log(2.0)
        let perLeaf = max(1, (usable / leafEntry).rounded(.down) * fill)
        let fanout = max(2, (usable / Double(tree.slotBytes + tree.branchCellBytes + tree.keyBytes)).rounded(.down) * fill)
        var levelPages = [max(1, (Double(tree.records) / perLeaf).rounded(.up))]
        while levelPages.last! > 1 { levelPages.append(max(1, (levelPages.last! / fanout).rounded(.up))) }
        let height = levelPages.count
        let pages = levelPages.reduce(0, +) + overflowPages * Double(tree.records) + 2
        let spaceAmp = pages * Double(tree.pageBytes) / (Double(tree.records) * user)
        let log = tree.logged ? (user + Double(tree.logOverheadBytes)) / user : 0
        let pagesPerCommit: Double
        let how: String
        if let limit = tree.checkpointPages {
            let logLimit = tree.checkpointLogBytes.map { Double($0) / (user + Double(tree.logOverheadBytes)) } ?? .infinity
            let commits = min(commitsToDirty(Double(limit), levelPages: levelPages, sequential: tree.sequential, perLeaf: perLeaf), logLimit)
            pagesPerCommit = dirtied(commits, levelPages: levelPages, sequential: tree.sequential, perLeaf: perLeaf) / commits + overflowPages
            how = "checkpoint every \(Int(commits)) commits"
        } else {
            pagesPerCommit = Double(height) + overflowPages
            how = "copy-on-write path per commit"
        }
        let writeAmp = log + pagesPerCommit * Double(tree.pageBytes) / user
        let structure = "B+tree: height \(height) (\(Int(perLeaf)) entries per leaf, fanout \(Int(fanout)) at fill \(String(format: "%.2f", fill)), \(Int(levelPages[0])) leaves; \(how), \(String(format: "%.2f", pagesPerCommit)) pages per commit)"
        return ModelCost(structure: structure, writeAmp: writeAmp, readAmp: Double(height), spaceAmp: spaceAmp)
    }

    /// Distinct pages `commits` commits dirty: random keys dirty n(1 − e^(−c/n)) of a level's n pages;
    /// appends dirty c / entries-per-leaf leaves and the rightmost path.
    static func dirtied(_ commits: Double, levelPages: [Double], sequential: Bool, perLeaf: Double) -> Double {
        if sequential { return commits / perLeaf + Double(levelPages.count - 1) }
        return levelPages.reduce(0) { $0 + $1 * (1 - exp(-commits / $1)) }
    }

    /// The commits after which `limit` pages are dirty (every page of the tree when it has fewer).
    static func commitsToDirty(_ limit: Double, levelPages: [Double], sequential: Bool, perLeaf: Double) -> Double {
        var low = 1.0, high = 1e15
        guard dirtied(high, levelPages: levelPages, sequential: sequential, perLeaf: perLeaf) > limit else { return high }
        for _ in 0..<200 {
            let middle = (low + high) / 2
            if dirtied(middle, levelPages: levelPages, sequential: sequential, perLeaf: perLeaf) < limit { low = middle } else { high = middle }
        }
        return max(1, low)
    }

    /// The model of a run's configuration, read from its `engine_settings` and parameters: the LSM
    /// (`memtable_bytes`, `level_size_ratio`, `base_level_bytes`, `l0_triggers`, `bloom_bits_per_key`,
    /// a `compaction`/`compaction_strategy`/`compaction_style` naming lazy leveling, tiered or universal) or the
    /// B+tree (`page_size`, `checkpoint_pages`, `checkpoint_log_bytes`); nil for other engines.
    public static func estimate(_ run: RunResult) -> ModelCost? {
        let settings = run.engineSettings
        let parameters = run.parameters
        let logged = parameters.durability != "none"
        if let memtable = settings["memtable_bytes"].flatMap(Int.init), let ratio = settings["level_size_ratio"].flatMap(Int.init) {
            let style = ["compaction", "compaction_strategy", "compaction_style"].compactMap { settings[$0]?.lowercased() }.first ?? ""
            let strategy: LSM.Strategy = style.contains("lazy") ? .lazyLeveling
                : style.contains("tier") || style.contains("universal") ? .tiered : .leveled
            let trigger = settings["l0_triggers"].flatMap { text in
                text.split(separator: ",").first?.split(separator: " ").last.flatMap { Int($0) }
            } ?? 4
            return lsm(LSM(strategy: strategy, records: parameters.records, keyBytes: parameters.keySize,
                           valueBytes: parameters.valueSize, memtableBytes: memtable, sizeRatio: ratio,
                           baseLevelBytes: settings["base_level_bytes"].flatMap(Int.init), l0CompactionTrigger: trigger,
                           bloomBitsPerKey: settings["bloom_bits_per_key"].flatMap(Int.init) ?? 10, logged: logged))
        }
        if let page = settings["page_size"].flatMap(Int.init), let checkpoint = settings["checkpoint_pages"].flatMap(Int.init) {
            let sequential = parameters.workload == "fillseq" || parameters.keyScheme == "ycsb-ordered"
            return btree(BTree(records: parameters.records, keyBytes: parameters.keySize, valueBytes: parameters.valueSize,
                               pageBytes: page, sequential: sequential, logged: logged, checkpointPages: checkpoint,
                               checkpointLogBytes: settings["checkpoint_log_bytes"].flatMap(Int.init)))
        }
        return nil
    }

    private static func megabytes(_ bytes: Double) -> String {
        bytes >= 1_048_576 ? String(format: "%.1f MiB", bytes / 1_048_576) : String(format: "%.0f KiB", bytes / 1024)
    }
}
