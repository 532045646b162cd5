#if canImport(Glibc)
import Glibc
#endif

/// The dynamic symbol table (`.dynsym`) of a 64-bit little-endian ELF file,
/// read with `pread`: which symbols the file imports (undefined, resolved from
/// another library at load time) and which it defines.
struct ELFDynamicSymbols {
    /// Names of the undefined dynamic symbols: what the file imports.
    let imported: Set<String>
    /// Names of the dynamic symbols the file defines.
    let defined: Set<String>

    /// Why a file could not be read as an ELF shared object.
    struct ReadError: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads `path`'s section headers and its `SHT_DYNSYM` section with the string table it links to.
    init(path: String) throws(ReadError) {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw ReadError(description: "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        let header = try Self.read(descriptor, offset: 0, count: 64, path: path)
        guard header.starts(with: [0x7F, 0x45, 0x4C, 0x46]) else { throw ReadError(description: "\(path) is not an ELF file") }
        guard header[4] == 2, header[5] == 1 else { throw ReadError(description: "\(path) is not a 64-bit little-endian ELF file") }
        let sectionTable = Self.integer(header, at: 0x28, UInt64.self)
        let sectionSize = Int(Self.integer(header, at: 0x3A, UInt16.self))
        let sectionCount = Int(Self.integer(header, at: 0x3C, UInt16.self))
        guard sectionSize >= 64, sectionCount > 0 else { throw ReadError(description: "\(path) has no section headers") }
        let sections = try Self.read(descriptor, offset: sectionTable, count: sectionSize * sectionCount, path: path)
        func section(_ index: Int) -> (type: UInt32, offset: UInt64, size: UInt64, link: Int, entrySize: UInt64) {
            let base = index * sectionSize
            return (Self.integer(sections, at: base + 4, UInt32.self), Self.integer(sections, at: base + 24, UInt64.self),
                    Self.integer(sections, at: base + 32, UInt64.self), Int(Self.integer(sections, at: base + 40, UInt32.self)),
                    Self.integer(sections, at: base + 56, UInt64.self))
        }
        let dynamicSymbolType: UInt32 = 11  // SHT_DYNSYM
        guard let symbolIndex = (0..<sectionCount).first(where: { section($0).type == dynamicSymbolType }) else {
            throw ReadError(description: "\(path) has no dynamic symbol table")
        }
        let symbols = section(symbolIndex)
        guard symbols.entrySize >= 24, symbols.link < sectionCount else { throw ReadError(description: "\(path) has a malformed dynamic symbol table") }
        let names = section(symbols.link)
        let symbolBytes = try Self.read(descriptor, offset: symbols.offset, count: Int(symbols.size), path: path)
        let nameBytes = try Self.read(descriptor, offset: names.offset, count: Int(names.size), path: path)
        var imported = Set<String>()
        var defined = Set<String>()
        for start in stride(from: 0, to: symbolBytes.count - 23, by: Int(symbols.entrySize)) {
            let nameOffset = Int(Self.integer(symbolBytes, at: start, UInt32.self))
            guard nameOffset > 0, nameOffset < nameBytes.count else { continue }
            let end = nameBytes[nameOffset...].firstIndex(of: 0) ?? nameBytes.count
            let name = String(decoding: nameBytes[nameOffset..<end], as: UTF8.self)
            if Self.integer(symbolBytes, at: start + 6, UInt16.self) == 0 {  // st_shndx == SHN_UNDEF
                imported.insert(name)
            } else {
                defined.insert(name)
            }
        }
        self.imported = imported
        self.defined = defined
    }

    private static func read(_ descriptor: Int32, offset: UInt64, count: Int, path: String) throws(ReadError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let got = bytes.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if got < 0 && errno == EINTR { continue }
            guard got > 0 else { throw ReadError(description: "\(path) ends inside its ELF headers or symbol table") }
            done += got
        }
        return bytes
    }

    private static func integer<T: FixedWidthInteger>(_ bytes: [UInt8], at offset: Int, _: T.Type) -> T {
        var value: T = 0
        for index in (0..<MemoryLayout<T>.size).reversed() { value = value << 8 | T(bytes[offset + index]) }
        return value
    }
}
