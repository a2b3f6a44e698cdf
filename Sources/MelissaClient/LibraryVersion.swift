/// The client library's version: what `melissa_version()` returns and what Scripts/build.sh
/// writes into melissa-config, the pkg-config file and libmelissa.so's file name.
public enum LibraryVersion {
    /// major.minor.patch; build.sh reads this line, so keep it a plain literal.
    public static let string = "0.1.0"
}
