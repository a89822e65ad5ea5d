/// The release, as `secretsfs --version` prints it and each mount's `.status` shows it: one
/// place, so the two cannot disagree.
public enum SecretsFSVersion {
    public static let string = "0.25.0"
}
