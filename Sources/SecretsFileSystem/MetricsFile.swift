import SecretsCore

/// `.metrics`: what `.status` counts, in Prometheus' text format.
struct MetricsFile: ControlFile {
    let name = ".metrics"
    let recordTag = "m"

    func contents(in fs: SecretsFileSystem, folder: SecretPath, reader: RequestContext) async throws -> [UInt8] {
        Array(StatusRenderer.prometheus(await fs.snapshot()).utf8)
    }
}
