import SecretsCore

/// How the mount presents itself: owners, modes, and how much the kernel may cache.
public struct FileSystemOptions: Sendable {
    public var uid: UInt32
    public var gid: UInt32
    public var fileMode: UInt16
    public var dirMode: UInt16
    /// Every open and read reaches the daemon; nothing is kept in the page cache.
    public var directIO: Bool
    /// How long the kernel may keep names and attributes of secrets. The daemon invalidates them
    /// when a value changes or its TTL ends, so this can be long.
    public var kernelCacheTimeout: Double
    /// Makes the values of rotations.
    public var generator: PasswordGenerator

    public init(
        uid: UInt32,
        gid: UInt32,
        fileMode: UInt16 = 0o400,
        dirMode: UInt16 = 0o500,
        directIO: Bool = false,
        kernelCacheTimeout: Double = 300,
        generator: PasswordGenerator = PasswordGenerator()
    ) {
        self.uid = uid
        self.gid = gid
        self.fileMode = fileMode
        self.dirMode = dirMode
        self.directIO = directIO
        self.kernelCacheTimeout = kernelCacheTimeout
        self.generator = generator
    }
}
