import KVStore

/// Handles on the B+tree's internal structures for microbenchmarks
/// (`Benchmarks/`), exposed only as SPI: `@_spi(Benchmarks) import BTreeEngine`.
@_spi(Benchmarks)
public enum BTreeBenchmarkProbes {
    /// One leaf page filled in key order with `entries`, to binary-search.
    public final class LeafPageProbe {
        let memory: UnsafeMutableRawPointer
        let page: PageView
        /// Entries that fitted in the page.
        public let count: Int

        public init(sortedEntries: [(key: Bytes, value: Bytes)], pageSize: Int = 4096) {
            memory = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 4096)
            memory.initializeMemory(as: UInt8.self, repeating: 0, count: pageSize)
            let view = PageView(memory, size: pageSize)
            page = view
            view.initialize(type: .leaf, pgno: 1, txn: 1)
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: pageSize, alignment: 16)
            defer { scratch.deallocate() }
            var inserted = 0
            for entry in sortedEntries {
                let size = PageView.leafCellSize(keyLength: entry.key.count, storedValueLength: entry.value.count)
                let fitted = entry.key.withUnsafeBytes { key in
                    entry.value.withUnsafeBytes { value in
                        view.insertCell(at: inserted, cellSize: size, scratch: scratch) { target in
                            PageView.writeLeafCell(target, key: key, value: value)
                        }
                    }
                }
                if !fitted { break }
                inserted += 1
            }
            count = inserted
        }

        deinit { memory.deallocate() }

        /// The slot of the first key at or after `key`, and whether it is equal: the search every get does in a page.
        @inline(never)
        public func search(_ key: Bytes) -> (index: Int, found: Bool) {
            key.withUnsafeBytes { page.lowerBound($0) }
        }
    }
}
