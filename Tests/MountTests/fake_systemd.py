"""A stand-in for systemd's notify socket and file descriptor store, for the supervisor tests and
scripts/bench (systemd does not run here). No pytest in it: bench/bench.py imports it too."""

import os
import socket
import threading


class FakeSystemd:
    """systemd's part for `Type=notify` with a descriptor store: a datagram socket that keeps every descriptor sent with FDSTORE=1 under its FDNAME,
    and starts the next `secretsfs mount` with them at 3... (LISTEN_PID, LISTEN_FDS, LISTEN_FDNAMES)."""

    live = []

    def __init__(self, folder):
        self.path = os.path.join(folder, "notify.sock")
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(self.path)
        self.stored, self.messages = {}, []
        self.lock = threading.Lock()
        threading.Thread(target=self._receive, daemon=True).start()
        FakeSystemd.live.append(self)

    def _receive(self):
        while True:
            try:
                data, fds, _, _ = socket.recv_fds(self.socket, 4096, 8)
            except OSError:
                return
            text = data.decode()
            fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
            with self.lock:
                self.messages.append(text)
                if fields.get("FDSTOREREMOVE") == "1":
                    stored = self.stored.pop(fields.get("FDNAME", "stored"), None)
                    if stored is not None:
                        os.close(stored)
                if fields.get("FDSTORE") == "1":
                    for fd in fds:
                        name = fields.get("FDNAME", "stored")
                        if name in self.stored:
                            os.close(self.stored[name])
                        self.stored[name] = fd
                else:
                    for fd in fds:
                        os.close(fd)

    def launch_arguments(self, argv):
        """How to start `argv` as systemd would after a restart, with the stored descriptors at 3...:
        the command, a preexec_fn and pass_fds for subprocess."""
        with self.lock:
            names = list(self.stored)
            fds = [self.stored[name] for name in names]

        def place():
            # Copies first, so placing one at 3 never overwrites another still to be placed.
            copies = [os.dup(fd) for fd in fds]
            for index, fd in enumerate(copies):
                os.dup2(fd, 3 + index)

        command = "LISTEN_PID=$$ LISTEN_FDS=%d LISTEN_FDNAMES=%s exec \"$@\"" % (len(names), ":".join(names))
        # The placed numbers are kept too: the child closes all but pass_fds after `place` runs.
        return ["sh", "-c", command, "sh", *argv], place, [*fds, *range(3, 3 + len(fds))]

    def close(self):
        self.socket.close()
        with self.lock:
            for fd in self.stored.values():
                os.close(fd)
            self.stored = {}
        if os.path.exists(self.path):
            os.remove(self.path)
        if self in FakeSystemd.live:
            FakeSystemd.live.remove(self)

    @classmethod
    def close_all(cls):
        for systemd in list(cls.live):
            systemd.close()
