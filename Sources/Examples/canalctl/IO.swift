import Foundation

/// Reading input and writing output for the commands.
enum IO {
    /// The contents of a file, or of standard input for `-`.
    static func read(_ path: String) throws -> String {
        if path == "-" {
            let data = FileHandle.standardInput.readDataToEndOfFile()
            return String(decoding: data, as: UTF8.self)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandError("cannot read \(path): no such file or not readable")
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes a line to standard error.
    static func error(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}

/// A failure to report to the user: the message goes to standard error and the exit code is 1.
struct CommandError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
