import Testing
@testable import BTreeEngine
import KVStore

/// The split step: gathering one or two pages with a cell added, and where it cuts.
@Suite struct CellRunTests {
    /// A leaf page of `size` bytes holding one cell per key (values of `valueLength` bytes).
    private static func leaf(_ memory: UnsafeMutableRawPointer, size: Int, keys: [UInt8], valueLength: Int) -> PageView {
        let page = PageView(memory, size: size)
        page.initialize(type: .leaf, pgno: 3, txn: 1)
        for key in keys { withCell(key, valueLength: valueLength) { page.appendCell($0) } }
        return page
    }

    private static func withCell<R>(_ key: UInt8, valueLength: Int, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        let k: Bytes = [key], v = Bytes(repeating: key, count: valueLength)
        let size = PageView.leafCellSize(keyLength: 1, storedValueLength: valueLength)
        var cell = Bytes(repeating: 0, count: size)
        return cell.withUnsafeMutableBytes { raw in
            k.withUnsafeBytes { kb in v.withUnsafeBytes { vb in PageView.writeLeafCell(raw.baseAddress!, key: kb, value: vb) } }
            return body(UnsafeRawBufferPointer(raw))
        }
    }

    private static func keys(_ run: CellRun) -> [UInt8] {
        run.cells.map { $0[PageLayout.leafCellHeader] }
    }

    @Test func gathersTwoPagesWithTheAddedCellInPlace() {
        let size = 512
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 5 * size, alignment: 16)
        defer { memory.deallocate() }
        let left = Self.leaf(memory, size: size, keys: [1, 3, 5], valueLength: 10)
        let right = Self.leaf(memory + size, size: size, keys: [7, 9], valueLength: 10)
        // The added cell lives as long as the run, as the writer's cell buffer does.
        let added = Self.withCell(4, valueLength: 10) { cell in
            (memory + 4 * size).copyMemory(from: cell.baseAddress!, byteCount: cell.count)
            return UnsafeRawBufferPointer(start: memory + 4 * size, count: cell.count)
        }
        for (position, expected) in [(0, [4, 1, 3, 5, 7, 9]), (3, [1, 3, 5, 4, 7, 9]), (4, [1, 3, 5, 7, 4, 9]), (5, [1, 3, 5, 7, 9, 4])] {
            let run = CellRun(left, right, adding: added, at: position, buffer: memory + 2 * size)
            #expect(Self.keys(run) == expected.map(UInt8.init), "added at \(position)")
            #expect(run.bytes == left.used + right.used + added.count + PageLayout.slotSize)
        }
        let plain = CellRun(left, right, buffer: memory + 2 * size)
        #expect(Self.keys(plain) == [1, 3, 5, 7, 9])
        #expect(plain.bytes == left.used + right.used)
    }

    @Test func splitsBalanceBytesAndAppendsLeaveTheLastCellAlone() {
        let size = 1024
        let memory = UnsafeMutableRawPointer.allocate(byteCount: 3 * size, alignment: 16)
        defer { memory.deallocate() }
        // Three small cells, then one as large as they are together: the byte middle is before the large one.
        let page = PageView(memory, size: size)
        page.initialize(type: .leaf, pgno: 3, txn: 1)
        for (key, length) in [(1, 20), (2, 20), (3, 20), (4, 80)] {
            Self.withCell(UInt8(key), valueLength: length) { page.appendCell($0) }
        }
        let run = CellRun(page, buffer: memory + size)
        #expect(run.balancedSplit() == 3)
        #expect(run.appendSplit == 3)
        let even = CellRun(Self.leaf(memory, size: size, keys: [1, 2, 3, 4, 5, 6], valueLength: 10), buffer: memory + size)
        #expect(even.balancedSplit() == 3)
        #expect(even.appendSplit == 5)
    }

    @Test(.enabled(if: InternalChecks.enabled)) func appendingWithoutRoomStopsDebugBuilds() async {
        await #expect(processExitsWith: .failure) {
            // 96 bytes for cells and slots: two cells of 37 fit, the third does not (but lands inside the page).
            let size = 128
            let memory = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 16)
            let page = PageView(memory, size: size)
            page.initialize(type: .leaf, pgno: 3, txn: 1)
            for key in 0..<UInt8(3) {
                let k: Bytes = [key], v = Bytes(repeating: key, count: 20)
                var cell = Bytes(repeating: 0, count: PageView.leafCellSize(keyLength: 1, storedValueLength: 20))
                cell.withUnsafeMutableBytes { raw in
                    k.withUnsafeBytes { kb in v.withUnsafeBytes { vb in PageView.writeLeafCell(raw.baseAddress!, key: kb, value: vb) } }
                    page.appendCell(UnsafeRawBufferPointer(raw))
                }
            }
        }
    }
}
