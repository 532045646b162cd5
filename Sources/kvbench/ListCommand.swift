import ArgumentParser
import KVWorkloads

/// `kvbench list`: the engines and workloads available.
struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List engines and workloads.")

    func run() throws {
        print("engines:")
        for engine in EngineTable.engines {
            print("  \(engine.name.padding(to: 18))\(engine.summary)")
        }
        print("workloads:")
        for name in WorkloadDefinition.builtInNames {
            print("  \(name.padding(to: 18))\(WorkloadDescriptions.text(for: name))")
        }
        print("  \("PATH".padding(to: 18))a YCSB workload property file (--workload path/to/workloada)")
        print("key distributions: \(KeyDistribution.names.joined(separator: ", "))")
    }
}

/// One-line descriptions of the built-in workloads.
enum WorkloadDescriptions {
    static func text(for name: String) -> String {
        switch name {
        case "fillseq": return "load only: insert every record in key order"
        case "fillrandom": return "load only: insert every record in random order"
        case "overwrite": return "load, then update random existing records"
        case "readrandom": return "load, then point reads of random records"
        case "readseq": return "load, then read every entry in key order through cursors"
        case "seekrandom": return "load, then seek to a random key and read --scan-length entries"
        case "deleterandom": return "load, then delete random records"
        case "readwhilewriting": return "load, then readers on all threads but one, one writer at --writer-rate"
        case "ycsb-a": return "YCSB A: 50% read, 50% update, zipfian"
        case "ycsb-b": return "YCSB B: 95% read, 5% update, zipfian"
        case "ycsb-c": return "YCSB C: 100% read, zipfian"
        case "ycsb-d": return "YCSB D: 95% read, 5% insert, latest"
        case "ycsb-e": return "YCSB E: 95% scan (1-100 entries), 5% insert, zipfian"
        case "ycsb-f": return "YCSB F: 50% read, 50% read-modify-write, zipfian"
        default: return ""
        }
    }
}

extension String {
    func padding(to width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
