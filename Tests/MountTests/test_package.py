"""The Debian package and the tarball (issue 29 §1, DESIGN §13): `scripts/package` packs the binary
under test with its man pages, completions, systemd unit and example config; the package says the
version `secretsfs --version` prints, depends on fuse3, passes lintian without an error, and its
files work where it puts them."""

import gzip
import shutil
import subprocess
import tarfile

import pytest

from conftest import BIN


@pytest.fixture(scope="module")
def packages(debian_package):
    return debian_package


def version():
    return subprocess.run([BIN, "--version"], capture_output=True, text=True, check=True).stdout.strip()


def field(deb, name):
    return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True).stdout.strip()


def test_the_package_is_named_and_versioned_as_the_binary(packages):
    deb, tar = packages
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    assert deb.name == f"secretsfs_{version()}_{arch}.deb"
    assert tar.name == f"secretsfs-{version()}-linux-{arch}.tar.gz"
    assert field(deb, "Package") == "secretsfs" and field(deb, "Version") == version()
    depends = [d.strip() for d in field(deb, "Depends").split(",")]
    assert "fuse3" in depends and "libc6" in depends and "libfuse3-3" in depends


def test_the_package_holds_what_an_operator_needs(packages, tmp_path):
    deb, _ = packages
    listing = subprocess.run(["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True).stdout
    for path in ["./usr/bin/secretsfs", "./usr/bin/secretsfs-supervise", "./usr/share/man/man1/secretsfs.mount.1.gz",
                 "./usr/share/bash-completion/completions/secretsfs", "./usr/share/zsh/vendor-completions/_secretsfs",
                 "./usr/share/fish/vendor_completions.d/secretsfs.fish", "./lib/systemd/system/secretsfs@.service",
                 "./usr/share/doc/secretsfs/examples/secretsfs.yaml", "./usr/share/doc/secretsfs/copyright",
                 "./usr/share/doc/secretsfs/changelog.gz"]:
        assert f" {path}\n" in listing + "\n" or listing.count(path) >= 1, path
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    # Every file is root's, and the binary runs from where the package puts it.
    assert all(line.split()[1] == "root/root" for line in listing.splitlines())
    assert subprocess.run([str(root / "usr/bin/secretsfs"), "--version"], capture_output=True,
                          text=True).stdout.strip() == version()
    page = gzip.decompress((root / "usr/share/man/man1/secretsfs.mount.1.gz").read_bytes()).decode()
    assert "Fl -cache-ttl" in page
    unit = (root / "lib/systemd/system/secretsfs@.service").read_text()
    assert "ExecStart=/usr/bin/secretsfs mount" in unit and "FileDescriptorStoreMax=" in unit


def test_the_tarball_holds_the_same_files(packages):
    deb, tar = packages
    with tarfile.open(tar) as archive:
        names = archive.getnames()
        top = names[0].split("/")[0]
        assert top == tar.name.removesuffix(".tar.gz")
        assert all(m.uid == 0 and m.gid == 0 for m in archive.getmembers())
    for path in ["bin/secretsfs", "bin/secretsfs-supervise", "share/man/man1/secretsfs.1.gz", "lib/systemd/system/secretsfs@.service",
                 "share/doc/secretsfs/examples/secretsfs.yaml"]:
        assert f"{top}/{path}" in names, path


def test_lintian_finds_no_error(packages):
    deb, _ = packages
    assert shutil.which("lintian"), "lintian is missing: scripts/test installs it"
    result = subprocess.run(["lintian", "--allow-root", "--no-tag-display-limit", str(deb)], capture_output=True,
                            text=True, timeout=600)
    errors = [line for line in result.stdout.splitlines() if line.startswith("E:")]
    assert not errors, result.stdout
    # The warnings that remain are listed in the README's Install section; print them for the log.
    print(result.stdout)
