/// Lexical path helpers (no file-system access beyond what callers pass in).
enum Paths {
    /// `path` if absolute, else joined to `directory`; "." components and repeated or
    /// trailing slashes are dropped so messages show clean paths. ".." is kept as written.
    static func absolute(_ path: String, in directory: String) -> String {
        let joined = path.hasPrefix("/") ? path : directory + "/" + path
        let parts = joined.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
    }

    /// The directory part of `path` ("/" for a file at the root, "." for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let head = path[..<slash]
        return head.isEmpty ? "/" : String(head)
    }
}
