import Foundation
import SecretsCore
import SecretsTemplates

/// Rendering a file of `files:`: its inputs are read through the mount's cache (TTL, stale if error
/// apply) and named as the mount names them, so a field of a multi-field secret is `secret/field`.
extension Resolver {
    func render(_ path: SecretPath, outcome: OutcomeRecorder?) async throws -> Node {
        guard let file = rendered.file(at: path) else { throw SecretError.notFound(path, "no such rendered file") }
        let stale = OutcomeRecorder()
        do {
            let output = try await file.template.render { [self] reference in
                do {
                    return try await input(reference, stale: stale)
                } catch {
                    let failure = SecretError.from(error)
                    // Names and the kind only: the error of an input never carries its value.
                    logger.warning(
                        "rendered file not made: an input failed",
                        metadata: ["file": "\(path)", "input": "\(reference)", "kind": "\(failure.code)"])
                    throw failure
                }
            }
            rendered.rendered(path, from: output.inputs.keys)
            outcome?.value = stale.value ?? .hit
            return .rendered(RenderedNode(path: path, output: output))
        } catch let error as TemplateError {
            logger.warning("rendered file not made", metadata: ["file": "\(path)", "reason": "\(error)"])
            throw SecretError(.configuration, "the template failed to render", path: path, cause: error)
        }
    }

    /// A folder that holds rendered files: what the store has there as well, or an empty folder.
    func renderedFolder(_ path: SecretPath, outcome: OutcomeRecorder?) async throws -> Node {
        do {
            if case .folder(let folder) = try await resolvePath(path, outcome: outcome) {
                return .folder(SecretFolder(path: path, isPrefix: true, version: folder.version, fields: folder.fields))
            }
            logCollisionOnce(path, "a secret and a folder of rendered files share this name; the folder is shown")
        } catch let error as SecretError where error.code == .notFound {
            // Nothing in the store here: the folder exists for the rendered files alone.
        }
        return .folder(.prefix(path))
    }

    /// One input's bytes and version. `stale` learns whether any input was served stale, so the
    /// rendered node is not kept past the moment (as a stale value is not).
    private func input(_ reference: TemplateReference, stale: OutcomeRecorder) async throws -> TemplateInput {
        let path = try SecretPath(reference.path)
        let outcome = OutcomeRecorder()
        defer { if outcome.value == .stale { stale.value = .stale } }
        if let parent = path.parent, !parent.isRoot {
            // As a walk from the root resolves each folder on the way: a multi-field secret that is
            // denied or unreachable fails its field with that errno, not with "no such file".
            do {
                _ = try await resolve(.path(parent), outcome: outcome)
            } catch let error as SecretError where error.code == .notFound {
                // The input is what is missing, whichever folder on its way the store lacked.
                throw SecretError.notFound(path, "no such secret")
            }
        }
        guard let version = reference.version else {
            let node = try await resolvePath(path, outcome: outcome)
            guard let value = node.value, let secret = node.secret else {
                throw SecretError.notFound(path, "not a file")
            }
            return TemplateInput(value: value, version: secret.version, changedAt: secret.createdAt)
        }
        if let current = try? await resolvePath(path).current, let name = current.field {
            let secret = try await read(current.secret, versionOrLabel: version)
            guard case .fields(let fields) = secret.content, let value = fields[name] else {
                throw SecretError.notFound(path, "no such field in that version")
            }
            return TemplateInput(value: value, version: secret.version, changedAt: secret.createdAt)
        }
        let secret = try await read(path, versionOrLabel: version)
        guard case .value(let value) = secret.content else {
            throw SecretError.notFound(path, "that version is not a file")
        }
        return TemplateInput(value: value, version: secret.version, changedAt: secret.createdAt)
    }

    /// A version by id or by label (`current`, `previous`, `AWSPENDING`), as `.versions` shows them.
    private func read(_ path: SecretPath, versionOrLabel name: String) async throws -> Secret {
        let versions = try await store.versions(of: path)
        guard
            let id = versions.first(where: { $0.labels.contains(name) })?.id
                ?? versions.first(where: { $0.id == name })?.id
        else { throw SecretError.notFound(path, "no such version") }
        return try await store.read(path, version: id)
    }
}

extension SecretsFileSystem {
    /// A rendered file's bytes as a read would get them now (`secretsfs render`).
    public func renderedValue(at path: SecretPath) async throws -> SecretValue {
        guard let value = try await resolver.resolve(.rendered(path)).value else {
            throw SecretError.notFound(path, "no such rendered file")
        }
        return value
    }
}
