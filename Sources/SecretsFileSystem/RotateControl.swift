import SecretsCore

/// `<folder>/.rotate`, in every folder: a write of paths, one per line, rotates them; a read shows
/// the recent rotations under the folder (`RotationLog`).
struct RotateFile: ControlFileWriter {
    let name = ".rotate"
    let recordTag = "o"
    let inEveryFolder = true
    let permissions: UInt16 = 0o600

    func contents(in fs: SecretsFileSystem, folder: SecretPath, reader: RequestContext) async throws -> [UInt8] {
        fs.rotations.lines(under: folder)
    }

    func write(in fs: SecretsFileSystem, folder: SecretPath, data: [UInt8], caller: Caller?) -> Answer<Int> {
        .later {
            do {
                try await fs.rotate(lines: data, in: folder, caller: caller)
            } catch {
                await fs.kernel.caughtUp()
                throw error
            }
            // The shell's next command must see the new value: the kernel forgets the old one before
            // the write is answered, not some time after.
            await fs.kernel.caughtUp()
            return data.count
        }
    }
}

extension SecretsFileSystem {
    /// Rotates each path written to a `.rotate` file, one per line, relative to its folder. Returns
    /// only once the store has accepted every new version; stops at the first failure.
    func rotate(lines data: [UInt8], in folder: SecretPath, caller: Caller?) async throws {
        let targets = try Self.parseRotateInput(data)
        guard capabilities.contains(.rotate) else {
            throw SecretError.unsupported("\(store.descriptor.backend) cannot rotate")
        }
        // The next read of any `.rotate` or `.status` shows this rotation.
        defer { nodes.invalidateAll() }
        for relative in targets {
            let path = folder.appending(relative)
            let generator = options.generator
            var field: String?
            do {
                try checkPolicy(.path(path), caller)
                if options.rendered.file(at: path) != nil {
                    throw SecretError.unsupported("a rendered file has no versions to rotate").at(path)
                }
                let secretPath: SecretPath
                // A certificate's folder is re-issued whole: its files change together.
                (secretPath, field) =
                    options.certificates.paths.contains(path) ? (path, nil) : try await rotationTarget(path)
                let result = try await store.rotate(
                    RotationRequest(path: secretPath, field: field, length: generator.length) { generator.generate() })
                rotations.append(
                    path: path, field: field, old: result.oldVersion, new: result.newVersion, outcome: .ok,
                    at: clock.wallNow())
                if let caller { audit(.rotate, .path(path), result.newVersion, caller, nil, error: nil) }
                logger.info(
                    "rotated",
                    metadata: ["path": "\(path)", "old": "\(result.oldVersion ?? "-")", "new": "\(result.newVersion)"])
            } catch {
                let failure = SecretError.from(error)
                rotations.append(
                    path: path, field: field, old: nil, new: nil, outcome: .failed(failure.code), at: clock.wallNow())
                if let caller { audit(.rotate, .path(path), nil, caller, nil, error: failure) }
                logger.warning("rotation failed", metadata: ["path": "\(path)", "kind": "\(failure.code)"])
                throw failure
            }
        }
    }

    /// A `.rotate` write: UTF-8, at most 4 KiB, one relative path per line, at least one line.
    static func parseRotateInput(_ data: [UInt8]) throws(SecretError) -> [SecretPath] {
        guard data.count <= maxRotateInput else { throw SecretError(.invalidArgument, ".rotate input over 4 KiB") }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw SecretError(.invalidArgument, ".rotate input is not UTF-8")
        }
        var targets: [SecretPath] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            let path = try SecretPath(trimmed)
            guard !path.isRoot else { throw SecretError(.invalidArgument, ".rotate line names no secret") }
            targets.append(path)
        }
        guard !targets.isEmpty else { throw SecretError(.invalidArgument, ".rotate input is empty") }
        return targets
    }

    /// The secret and field a rotate line names: a secret file, or a field of a multi-field secret.
    private func rotationTarget(_ path: SecretPath) async throws -> (SecretPath, String?) {
        guard let current = try await resolver.resolvePath(path).current else {
            throw SecretError(.invalidArgument, "not a secret or a field; name one value to rotate").at(path)
        }
        return (current.secret, current.field)
    }
}
