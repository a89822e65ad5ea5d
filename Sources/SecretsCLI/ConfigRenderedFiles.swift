import Foundation
import SecretsBackendVault
import SecretsCore
import SecretsFileSystem
import SecretsTemplates
import Yams

/// The `files:` list of the config file: rendered files, each template checked here, so a mount
/// with a template that does not parse is refused with one line that says where.
extension ConfigFile {
    /// What a mount or a reload checks before it starts: the keys that are not flags.
    @discardableResult
    func checkStructuredKeys() throws(SecretError) -> (
        files: RenderedFiles, permissions: PermissionRules, certificates: [VaultCertificateRequest]
    ) {
        _ = try policy()
        let files = try renderedFiles()
        let certificates = try certificates()
        try Self.checkCertificates(certificates, against: files)
        try Self.checkLeases(try leases(), against: files, certificates: certificates)
        _ = try changeActions()
        return (files, try permissionRules(), certificates)
    }

    func renderedFiles() throws(SecretError) -> RenderedFiles {
        guard let node = values["files"] else { return .none }
        guard let sequence = node.sequence else {
            throw SecretError(.configuration, "\(place(node, "files")): 'files' must be a list of files")
        }
        var files: [RenderedFile] = []
        for (index, item) in sequence.enumerated() {
            let place = "\(place(item, "files")): file \(index + 1)"
            guard let mapping = item.mapping else { throw SecretError(.configuration, "\(place) must be a mapping") }
            var filePath: SecretPath?
            var template: (text: String, node: Node?, origin: String)?
            var mode: UInt16?
            var uid: UInt32?
            var gid: UInt32?
            for (key, value) in mapping {
                let name = key.string ?? "?"
                switch name {
                case "path":
                    guard let text = value.string, let path = try? SecretPath(text), !path.isRoot,
                        path.segments.allSatisfy(SecretPath.isValidSegment)
                    else {
                        throw SecretError(
                            .configuration, "\(place): 'path' must be a path in the mount, such as app/db.json")
                    }
                    filePath = path
                case "template":
                    guard template == nil else {
                        throw SecretError(.configuration, "\(place): give 'template' or 'template_file', not both")
                    }
                    guard let text = value.scalar?.string else {
                        throw SecretError(.configuration, "\(place): 'template' must be text")
                    }
                    template = (text, value, "config file \(path)")
                case "template_file":
                    guard template == nil else {
                        throw SecretError(.configuration, "\(place): give 'template' or 'template_file', not both")
                    }
                    guard let file = value.string, !file.isEmpty else {
                        throw SecretError(.configuration, "\(place): 'template_file' must be a file's path")
                    }
                    let data = try TrustedFile.read(file, what: "\(place): template_file")
                    template = (String(decoding: data, as: UTF8.self), nil, file)
                default:
                    var rule = PermissionRules.Rule(paths: [], mode: mode, uid: uid, gid: gid)
                    guard try Self.ownership(name, value, place, into: &rule) else {
                        throw ConfigValueCheck.unknownKey(name, at: place)
                    }
                    (mode, uid, gid) = (rule.mode, rule.uid, rule.gid)
                }
            }
            guard let filePath else { throw SecretError(.configuration, "\(place) needs a 'path'") }
            guard let template else {
                throw SecretError(.configuration, "\(place) needs a 'template' or 'template_file'")
            }
            let compiled: CompiledTemplate
            do {
                compiled = try CompiledTemplate(text: template.text, origin: template.origin)
            } catch {
                throw SecretError(
                    .configuration,
                    "\(located(error, in: template.node, origin: template.origin)): template of \(filePath): "
                        + error.reason)
            }
            files.append(try RenderedFile(path: filePath, template: compiled, mode: mode, uid: uid, gid: gid))
        }
        return try RenderedFiles(files)
    }

    /// `config file F, line N`: where an item of `key` is.
    func place(_ node: Node, _ key: String) -> String {
        guard let line = node.mark?.line ?? lines[key] else { return "config file \(path)" }
        return "config file \(path), line \(line)"
    }

    /// Where a template error is in the file the user edits: the template file itself, or the config
    /// file's lines. In a literal block (`template: |`) a template line is a config line below the
    /// `|`, shifted by the block's indentation; in a one-line scalar it sits on the key's line.
    private func located(_ error: TemplateError, in node: Node?, origin: String) -> String {
        guard let line = error.line else { return origin }
        let column = error.column ?? 1
        guard let node, let mark = node.mark else { return "\(origin), line \(line), column \(column)" }
        if node.scalar?.style == .literal {
            let configLine = mark.line + line
            let indent = configLine <= textLines.count ? textLines[configLine - 1].prefix { $0 == " " }.count : 0
            return "config file \(path), line \(configLine), column \(indent + column)"
        }
        if line == 1 {
            let quoted = node.scalar?.style == .singleQuoted || node.scalar?.style == .doubleQuoted
            return "config file \(path), line \(mark.line), column \(mark.column + column - (quoted ? 0 : 1))"
        }
        return "config file \(path), line \(mark.line) (template line \(line), column \(column))"
    }
}
