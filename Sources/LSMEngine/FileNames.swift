/// The names of the files in an LSM directory, built and parsed in one place
/// (see docs/lsm-format.md): `NNNNNN.log` (a write-ahead log), `NNNNNN.sst`
/// (a table), `LSM-MANIFEST` and its temporary `LSM-MANIFEST.tmp`. Numbers
/// come from one counter and are zero-padded to at least six digits.
enum LSMFileName: Hashable {
    case log(UInt64)
    case table(UInt64)
    case manifest
    case manifestTemporary

    /// The file's name inside the directory.
    var name: String {
        switch self {
        case .log(let number): Self.pad(number) + ".log"
        case .table(let number): Self.pad(number) + ".sst"
        case .manifest: "LSM-MANIFEST"
        case .manifestTemporary: "LSM-MANIFEST.tmp"
        }
    }

    /// The file's path in `directory`.
    func path(in directory: String) -> String { directory + "/" + name }

    /// What `name` is, or nil for a file the engine does not own.
    static func parse(_ name: String) -> LSMFileName? {
        if name == LSMFileName.manifest.name { return .manifest }
        if name == LSMFileName.manifestTemporary.name { return .manifestTemporary }
        guard name.utf8.count > 4, let number = UInt64(name.dropLast(4)) else { return nil }
        if name.hasSuffix(".log") { return .log(number) }
        if name.hasSuffix(".sst") { return .table(number) }
        return nil
    }

    private static func pad(_ number: UInt64) -> String {
        let digits = String(number)
        return String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}
