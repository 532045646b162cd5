import Foundation
import KVWorkloads
import StorageIO

/// A YCSB workload property file as read for `--workload PATH`, with a message for each way it can be unusable.
struct WorkloadFile {
    let name: String
    let text: String

    /// Reads `argument` as a workload file. A name without a slash that is no file is an unknown workload (usage error);
    /// a missing path, a directory, a binary file or a file without properties is a bad input file.
    static func read(_ argument: String) throws -> WorkloadFile {
        let builtIn = WorkloadDefinition.builtInNames.joined(separator: ", ")
        guard FileSystem.exists(argument) else {
            if argument.contains("/") {
                throw CommandFailure("workload file \(argument) does not exist; give the path of a YCSB workload file, or a built-in workload: \(builtIn)", status: .badInput)
            }
            throw CommandFailure("unknown workload '\(argument)'; choose one of: \(builtIn), or give the path of a YCSB workload file", status: .usage)
        }
        guard !FileSystem.isDirectory(argument) else {
            throw CommandFailure("workload file \(argument) is a directory; give the path of a YCSB workload file", status: .badInput)
        }
        guard let data = FileManager.default.contents(atPath: argument) else {
            throw CommandFailure("cannot read workload file \(argument) (\(String(cString: strerror(errno)))); check its permissions", status: .badInput)
        }
        guard !data.contains(0), let text = String(data: data, encoding: .utf8) else {
            throw CommandFailure("workload file \(argument) is not a text file (it holds binary data); give a YCSB workload file of key=value lines", status: .badInput)
        }
        let properties = text.split(whereSeparator: \.isNewline).filter { line in
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            return !trimmed.isEmpty && !trimmed.hasPrefix("#") && !trimmed.hasPrefix("!")
        }
        guard !properties.isEmpty else {
            throw CommandFailure("workload file \(argument) is empty (no key=value properties); write the properties (e.g. readproportion=0.5) or use a built-in workload", status: .badInput)
        }
        return WorkloadFile(name: URL(fileURLWithPath: argument).lastPathComponent, text: text)
    }
}
