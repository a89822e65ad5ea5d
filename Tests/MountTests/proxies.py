"""The TCP proxies the tests put between a mount and its backend: one that is slow (`SlowProxy`), one
that drops idle keep-alive connections (`IdleClosingProxy`), one that keeps them open in front of
a server that closes them (`KeepAliveFront`) and one that answers every request with a server error
while told to (`FailingFront`).

A load balancer in front of Vault drops idle keep-alive connections: it forgets a connection that
stayed idle past its timeout, and a request the client sends on it afterwards is lost (`rst`: answered with a reset, as a balancer that no longer knows the connection
does; `fin`: the balancer's close crossing the request on the wire). Either way the client learns
that its pooled connection is dead only after it has sent a request on it, which is the case a
client must retry."""

import select
import socket
import threading
import time
from http import HTTPStatus


class IdleClosingProxy:
    def __init__(self, upstream, idle=0.2, mode="rst"):
        host, port = upstream.rsplit(":", 1)
        self.upstream = (host.split("//")[-1], int(port))
        self.idle = idle
        self.mode = mode
        self.dropped = 0  # requests lost on connections idle past the timeout
        self.connections = 0
        self.reused = 0  # requests forwarded on a connection that had carried one before
        self._lock = threading.Lock()
        self._stopped = False
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.addr = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self):
        self._stopped = True
        self.listener.close()

    def _accept(self):
        while not self._stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _drop(self, client, upstream):
        with self._lock:
            self.dropped += 1
        if self.mode == "rst":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.close()
        upstream.close()

    def _serve(self, client):
        try:
            upstream = socket.create_connection(self.upstream, timeout=10)
        except OSError:
            client.close()
            return
        last = time.monotonic()
        requests = 0
        try:
            while not self._stopped:
                ready, _, _ = select.select([client, upstream], [], [], 0.05)
                now = time.monotonic()
                if self.mode == "timer" and not ready and requests > 0 and now - last >= self.idle:
                    # A balancer that closes on its own clock: the client usually sees the close in time.
                    self._drop(client, upstream)
                    return
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        break
                    if requests > 0 and now - last >= self.idle:
                        self._drop(client, upstream)
                        return
                    if now - last >= 0.05 or requests == 0:
                        requests += 1
                        if requests > 1:
                            with self._lock:
                                self.reused += 1
                    upstream.sendall(data)
                    last = now
                if upstream in ready:
                    data = upstream.recv(65536)
                    if not data:
                        break
                    client.sendall(data)
                    last = now
        except OSError:
            pass
        for s in (client, upstream):
            try:
                s.close()
            except OSError:
                pass


class KeepAliveFront(IdleClosingProxy):
    """The same balancer in front of a server that closes every connection after one answer (moto's
    werkzeug does): it keeps the client's connection open across requests, as AWS's endpoints do, and
    makes a new connection to the server for each request. Requests without a body or with
    Content-Length only, answers read to the server's close; enough for JSON 1.1 calls."""

    def _serve(self, client):
        buffered = b""
        last = None
        try:
            while not self._stopped:
                while b"\r\n\r\n" not in buffered:
                    data = client.recv(65536)
                    if not data:
                        return
                    if last is not None and time.monotonic() - last >= self.idle and not buffered:
                        self._drop(client, socket.socket())
                        return
                    buffered += data
                head, _, rest = buffered.partition(b"\r\n\r\n")
                length = _content_length(head)
                while len(rest) < length:
                    data = client.recv(65536)
                    if not data:
                        return
                    rest += data
                body, buffered = rest[:length], rest[length:]
                if last is not None:
                    with self._lock:
                        self.reused += 1
                answer = self._exchange(head, body)
                if answer is None:
                    return
                client.sendall(answer)
                last = time.monotonic()
        except OSError:
            pass
        finally:
            try:
                client.close()
            except OSError:
                pass

    def _exchange(self, head, body):
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        request = b"\r\n".join(lines + [b"Connection: close"]) + b"\r\n\r\n" + body
        with socket.create_connection(self.upstream, timeout=10) as upstream:
            upstream.sendall(request)
            answer = b""
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                answer += data
        head, _, body = answer.partition(b"\r\n\r\n")
        if not head:
            return None
        lines = [line for line in head.split(b"\r\n")
                 if not line.lower().startswith((b"connection:", b"content-length:"))]
        return b"\r\n".join(lines + [b"Content-Length: %d" % len(body)]) + b"\r\n\r\n" + body


class FailingFront(KeepAliveFront):
    """A balancer in front of Vault whose backend pool is failing: while `failing` is set every request
    is answered `status` (500 by default) with Vault's error body, as a node does that lost its
    storage; otherwise each request goes to the server. `failed` counts the requests answered so."""

    def __init__(self, upstream, status=500):
        super().__init__(upstream, idle=3600)
        self.status = status
        self.failing = False
        self.failed = 0

    def _exchange(self, head, body):
        if not self.failing:
            return super()._exchange(head, body)
        with self._lock:
            self.failed += 1
        answer = b'{"errors":["internal error"]}\n'
        phrase = HTTPStatus(self.status).phrase.encode()
        return (b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n" % (self.status, phrase, len(answer))) + answer


def _content_length(head):
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class SlowProxy:
    """A TCP proxy that holds every answer for `delay` seconds: a backend that is slow, not dead."""

    def __init__(self, target_port, delay, every_answer=False):
        self.delay = delay
        # Every HTTP answer waits, also one sent on a connection that has just answered (for reads
        # that follow each other; by default only an answer after a quiet moment waits).
        self.every_answer = every_answer
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            threading.Thread(target=self._pipe, args=(client, upstream, 0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, self.delay), daemon=True).start()

    def _pipe(self, source, sink, delay):
        # Only the start of an answer waits: the rest of it follows at once, as from a slow server.
        last = 0.0
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if delay and (data.startswith(b"HTTP/") if self.every_answer else time.monotonic() - last > 0.05):
                    time.sleep(delay)
                sink.sendall(data)
                last = time.monotonic()
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.listener.close()
