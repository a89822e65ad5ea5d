import Foundation
import Testing

@testable import SecretsCLI

/// What a volume's unit is told: its environment is readable by anyone on the node (`systemctl
/// show`), so no credential variable may reach it; and a new plugin finds a unit by its mountpoint.
@Suite struct CSISystemdUnitsTests {
    @Test func aUnitGetsAddressesAndRegionsButNoCredential() {
        let passed = CSISystemdUnits.passed([
            "VAULT_ADDR": "https://vault:8200", "VAULT_TOKEN": "hunter2-PLANTED", "AWS_REGION": "eu-west-1",
            "AWS_SECRET_ACCESS_KEY": "hunter2-PLANTED", "AWS_ACCESS_KEY_ID": "AKIA0000",
            "AWS_SESSION_TOKEN": "hunter2-PLANTED",
            "AWS_ROLE_ARN": "arn:aws:iam::1:role/r", "HTTPS_PROXY": "http://proxy:3128", "PATH": "/usr/bin",
            "HOME": "/root", "KUBERNETES_SERVICE_HOST": "10.0.0.1", "SECRETSFS_READY_FD": "3",
            "VAULT_NAMESPACE": "line\nbreak",
        ])
        #expect(passed.map(\.0) == ["AWS_REGION", "AWS_ROLE_ARN", "HTTPS_PROXY", "VAULT_ADDR"])
        #expect(!passed.contains { $0.1.contains("PLANTED") })
    }

    @Test func aUnitIsNamedAfterItsMountpoint() {
        let name = CSISystemdUnits.unitName(mountpoint: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/s/mount")
        #expect(name.hasPrefix("secretsfs-csi-") && name.hasSuffix(".service") && name.count == 54)
        #expect(
            name == CSISystemdUnits.unitName(mountpoint: "/var/lib/kubelet/pods/u/volumes/kubernetes.io~csi/s/mount/"))
    }
}
