import Glibc

/// glibc's GNU-only `posix_spawn` file actions, looked up at run time.
///
/// Swift's Glibc module is built without `_GNU_SOURCE`, so these declarations are
/// invisible, and this target may not add a C shim (Package.swift is shared). Looking the
/// symbols up with `dlsym` keeps the call typed; both exist in every glibc since 2.34.
enum GNUSpawnExtensions {
    private typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?,
                                                 UnsafePointer<CChar>?) -> Int32
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>?,
                                                     Int32) -> Int32

    /// `posix_spawn_file_actions_addchdir_np`, or nil on a libc without it.
    private static let addChdir: AddChdir? = symbol("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
    /// `posix_spawn_file_actions_addclosefrom_np`, or nil on a libc without it.
    private static let addCloseFrom: AddCloseFrom? = symbol("posix_spawn_file_actions_addclosefrom_np",
                                                            as: AddCloseFrom.self)

    private static func symbol<T>(_ name: String, as type: T.Type) -> T? {
        // dlopen(nil) is the main program, whose global scope includes libc.
        guard let handle = dlopen(nil, RTLD_NOW), let pointer = dlsym(handle, name) else { return nil }
        return unsafeBitCast(pointer, to: type)
    }

    /// Adds "change directory to `path`" to `actions`; returns an errno (ENOSYS when unavailable).
    static func addChdir(_ actions: inout posix_spawn_file_actions_t, _ path: String) -> Int32 {
        guard let addChdir else { return ENOSYS }
        return addChdir(&actions, path)
    }

    /// Adds "close every descriptor >= `lowest`" so the launcher's sockets do not leak into
    /// children even if one was opened without O_CLOEXEC. Best effort: false when unavailable.
    @discardableResult
    static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) -> Bool {
        guard let addCloseFrom else { return false }
        return addCloseFrom(&actions, lowest) == 0
    }
}
