import KVStore

/// The engine figures RocksDB prints in its `rocksdb.dbstats` and
/// `rocksdb.cfstats-no-file-histogram` properties, which cost nothing while
/// the database runs (RocksDB keeps these counters whether or not a
/// `Statistics` object exists). Byte figures are printed in GiB with two
/// decimals (flushes with three), so they are exact to 0.01 GiB.
struct RocksDBPropertyStats {
    /// `Cumulative WAL: … written: X GB`.
    private(set) var walBytes: UInt64 = 0
    /// `Flush(GB): cumulative X`.
    private(set) var flushBytes: UInt64 = 0
    /// `Cumulative compaction: X GB write, …, Y GB read`: includes the flushes' writes.
    private(set) var compactionAndFlushWriteBytes: UInt64 = 0
    private(set) var compactionReadBytes: UInt64 = 0
    /// The `Low` (compaction thread pool) row of the compaction table by priority.
    private(set) var compactions: UInt64 = 0
    private(set) var compactionSeconds: Double = 0
    private(set) var compactionCPUSeconds: Double = 0
    /// `Cumulative stall: HH:MM:SS.sss H:M:S`.
    private(set) var stallSeconds: Double = 0

    init(database: String, columnFamily: String) {
        // Lines are picked by their first bytes and only the few read become Strings:
        // the statistics sampler calls this once a second.
        for line in Self.lines(database, starting: ["Cumulative WAL:", "Cumulative stall: "]) {
            if line.hasPrefix("Cumulative WAL:") {
                walBytes = Self.gibibytes(Self.number(in: line, after: "written: "))
            } else {
                let clock = line.dropFirst("Cumulative stall: ".count).prefix(while: { $0 != " " }).split(separator: ":")
                stallSeconds = clock.reduce(0) { $0 * 60 + (Double($1) ?? 0) }
            }
        }
        var priorityColumns: [Substring]?
        let wanted = ["Flush(GB): cumulative ", "Cumulative compaction: ", "Priority ", " Low ", "Low "]
        for line in Self.lines(columnFamily, starting: wanted) {
            if line.hasPrefix("Flush(GB): cumulative ") {
                flushBytes = Self.gibibytes(Self.number(in: line, after: "cumulative "))
            } else if line.hasPrefix("Cumulative compaction: ") {
                compactionAndFlushWriteBytes = Self.gibibytes(Self.number(in: line, after: "Cumulative compaction: "))
                compactionReadBytes = Self.gibibytes(Self.number(in: line, after: "MB/s write, "))
            } else if line.hasPrefix("Priority ") {
                priorityColumns = line.split(separator: " ")
            } else if let columns = priorityColumns {
                let fields = line.split(separator: " ")
                // Values line up with the header, except that `Size` prints as two fields ("0.00 KB").
                func value(_ column: String) -> Double {
                    guard let index = columns.firstIndex(where: { $0 == column }), let size = columns.firstIndex(of: "Size") else { return 0 }
                    let field = index > size ? index + 1 : index
                    return field < fields.count ? Double(fields[field]) ?? 0 : 0
                }
                compactions = UInt64(value("Comp(cnt)"))
                compactionSeconds = value("Comp(sec)")
                compactionCPUSeconds = value("CompMergeCPU(sec)")
            }
        }
    }

    /// The lines of `text` that start with one of `prefixes`, compared as bytes.
    private static func lines(_ text: String, starting prefixes: [String]) -> [Substring] {
        let bytes = text.utf8
        return bytes.split(separator: UInt8(ascii: "\n")).compactMap { line in
            prefixes.contains(where: { line.starts(with: $0.utf8) }) ? Substring(line) : nil
        }
    }

    /// Writes the figures into `snapshot`; the per-lookup counters stay nil (only `Statistics` counts them).
    func fill(_ snapshot: inout StoreStatistics) {
        // The two byte figures are rounded differently; with no compaction run, the difference is rounding.
        let compactionWrites = compactions > 0 && compactionAndFlushWriteBytes > flushBytes ? compactionAndFlushWriteBytes - flushBytes : 0
        snapshot.engineBytesWritten = walBytes + flushBytes + compactionWrites
        snapshot.compaction = CompactionStatistics(
            count: compactions, bytesRead: compactionReadBytes, bytesWritten: compactionWrites,
            wallSeconds: compactionSeconds, cpuSeconds: compactionCPUSeconds, stallSeconds: stallSeconds)
        snapshot.counters = ["wal_bytes": Double(walBytes), "flush_bytes": Double(flushBytes)]
    }

    /// The number that follows the first `marker` in `line`, or 0.
    private static func number(in line: Substring, after marker: String) -> Double {
        guard let range = line.firstRange(of: marker), let field = line[range.upperBound...].split(separator: " ").first else { return 0 }
        return Double(field.trimmingSuffix(",")) ?? 0
    }

    private static func gibibytes(_ value: Double) -> UInt64 { UInt64((value * 1_073_741_824).rounded()) }
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring {
        last == suffix ? dropLast() : self
    }
}

/// The text of `rocksdb_options_statistics_get_string` (with `rocksdb.statistics=true`),
/// parsed into tickers and histograms: exact byte counts and the per-lookup counters.
struct RocksDBStatisticsText {
    private var tickers: [String: UInt64] = [:]
    private var histograms: [String: (count: UInt64, sum: UInt64)] = [:]

    init(_ text: String) {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard let name = fields.first else { continue }
            if fields.count == 4, fields[1] == "COUNT" {
                tickers[String(name)] = UInt64(fields[3]) ?? 0
            } else if let countIndex = fields.firstIndex(of: "COUNT"), let sumIndex = fields.firstIndex(of: "SUM"),
                      countIndex + 2 < fields.count, sumIndex + 2 < fields.count {
                histograms[String(name)] = (UInt64(fields[countIndex + 2]) ?? 0, UInt64(fields[sumIndex + 2]) ?? 0)
            }
        }
    }

    func ticker(_ name: String) -> UInt64 { tickers[name] ?? 0 }

    func histogram(_ name: String) -> (count: UInt64, sum: UInt64) { histograms[name] ?? (0, 0) }

    /// Writes the tickers into `snapshot`: write bytes, lookups and probes, compactions, cache and filter counters.
    func fill(_ snapshot: inout StoreStatistics) {
        let walBytes = ticker("rocksdb.wal.bytes")
        let flushBytes = ticker("rocksdb.flush.write.bytes")
        let compactWrite = ticker("rocksdb.compact.write.bytes")
        snapshot.engineBytesWritten = walBytes + flushBytes + compactWrite
        snapshot.pointLookups = ticker("rocksdb.number.keys.read")
        snapshot.lookupProbes = ticker("rocksdb.bloom.filter.useful") + ticker("rocksdb.bloom.filter.full.positive")
        let compactionTimes = histogram("rocksdb.compaction.times.micros")
        let compactionCPU = histogram("rocksdb.compaction.times.cpu_micros")
        snapshot.compaction = CompactionStatistics(
            count: compactionTimes.count,
            bytesRead: ticker("rocksdb.compact.read.bytes"),
            bytesWritten: compactWrite,
            wallSeconds: Double(compactionTimes.sum) / 1e6,
            cpuSeconds: Double(compactionCPU.sum) / 1e6,
            stallSeconds: Double(ticker("rocksdb.stall.micros")) / 1e6
        )
        snapshot.counters = [
            "wal_bytes": Double(walBytes),
            "flush_bytes": Double(flushBytes),
            "block_cache.hits": Double(ticker("rocksdb.block.cache.hit")),
            "block_cache.misses": Double(ticker("rocksdb.block.cache.miss")),
            "bloom.negatives": Double(ticker("rocksdb.bloom.filter.useful")),
            "bloom.positives": Double(ticker("rocksdb.bloom.filter.full.positive")),
            "bloom.true_positives": Double(ticker("rocksdb.bloom.filter.full.true.positive")),
            "memtable.hits": Double(ticker("rocksdb.memtable.hit")),
            "wal_syncs": Double(ticker("rocksdb.wal.synced")),
        ]
        for level in ["l0", "l1", "l2andup"] {
            snapshot.counters["get_hits.\(level)"] = Double(ticker("rocksdb.get.hit.\(level)"))
        }
    }
}
