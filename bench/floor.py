"""bench/cold-floor.c mounted on an OpenBao without TLS (a bare socket is its client): the least a
FUSE daemon can do for a cold read, for scripts/bench's section 3 and bench/cold-profile.py."""

import os
import re
import subprocess
import time

from harness import is_mounted


class Floor:
    def __init__(self, program, mountpoint, vault, *args):
        self.mountpoint = mountpoint
        os.makedirs(mountpoint, exist_ok=True)
        self.process = subprocess.Popen(
            [program, mountpoint, *args], stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "VAULT_ADDR": vault.addr, "VAULT_TOKEN": vault.token})
        deadline = time.monotonic() + 10
        while not is_mounted(mountpoint):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"cold-floor at {mountpoint} did not mount: {self.process.communicate(timeout=5)[1]!r}")
            time.sleep(0.01)

    def path(self, name):
        return os.path.join(self.mountpoint, name)

    def stop(self):
        """Unmounts; the median of the floor's own GETs, in µs."""
        subprocess.run(["fusermount3", "-u", self.mountpoint], check=True)
        said = self.process.communicate(timeout=30)[1]
        found = re.search(r"median (\d+) us", said)
        if not found:
            raise RuntimeError(f"cold-floor said {said!r}")
        return float(found.group(1))
