import Foundation
import SecretsCore
import SecretsTemplates

/// A file of `files:` as rendered from its inputs just now.
struct RenderedNode: NodeKind {
    let path: SecretPath
    let output: RenderedOutput

    var value: SecretValue? { output.value }

    func attributes(in fs: SecretsFileSystem, inode: UInt64) -> NodeAttributes? {
        fs.renderedAttributes(path, output, inode: inode)
    }

    func xattrs(in fs: SecretsFileSystem) async -> [(String, [UInt8])] { fs.renderedXattrs(output) }
}

/// What `stat` and `getfattr` show for a rendered file.
extension SecretsFileSystem {
    /// Exact size, the newest input's version time, and the owner and mode `renderedOwnership` gives.
    func renderedAttributes(_ path: SecretPath, _ output: RenderedOutput, inode: UInt64) -> NodeAttributes {
        let owner = renderedOwnership(path)
        return NodeAttributes(
            inode: inode, type: .file, permissions: owner.mode, size: output.value.count,
            modified: output.newestChange ?? mountedAt, uid: owner.uid, gid: owner.gid)
    }

    /// `user.secretsfs.inputs`: one line per input, its path and the version read. Never a value.
    func renderedXattrs(_ output: RenderedOutput) -> [(String, [UInt8])] {
        let inputs = output.inputs.map { "\($0.key) \($0.value)\n" }.sorted().joined()
        return [
            (Self.xattrPrefix + "inputs", Array(inputs.utf8)),
            (Self.xattrPrefix + "backend", Array(store.descriptor.backend.utf8)),
        ]
    }
}
