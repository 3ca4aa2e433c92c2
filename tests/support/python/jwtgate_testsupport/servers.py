"""HTTP servers the tests start on 127.0.0.1 and stop: a JWKS endpoint, an
upstream that echoes what it received, and an IdP that never answers."""
import http.server
import json
import socket
import threading


class NoStuckAccept:
    """A listening socket that never blocks in accept(). select() can report
    a connection that its client resets before accept() takes it; a blocking
    accept() then waits for the next connection, forever at the end of a
    test, and shutdown() never returns. Non-blocking, that accept() fails
    (BlockingIOError), which socketserver skips."""

    def server_activate(self):
        super().server_activate()
        self.socket.setblocking(False)

    def get_request(self):
        conn, addr = self.socket.accept()
        conn.setblocking(True)
        return conn, addr


class JwksServer(NoStuckAccept, http.server.ThreadingHTTPServer):
    """A JWKS endpoint on an ephemeral port that serves `jwks` (a dict,
    encoded at each request, so assigning a new set rotates the keys) and
    counts the requests it answers in `hits`.

    `body`, when given, is called for each answer's bytes instead of
    encoding `jwks`. `keep_alive` answers in HTTP/1.1 with keep-alive, as
    IdPs do; `cache_control` adds that header; `counted(path)` says which
    requests count (all by default). Call `start()` (or use `with`), then
    `close()`."""

    daemon_threads = True

    def __init__(self, jwks=None, body=None, keep_alive=False, cache_control=None, counted=lambda path: True):
        self.jwks = jwks if jwks is not None else {"keys": []}
        self.hits = 0
        self._body = body
        self._cache_control = cache_control
        self._counted = counted
        self._lock = threading.Lock()
        handler = type("JwksHandler", (_JwksHandler,), {"protocol_version": "HTTP/1.1" if keep_alive else "HTTP/1.0"})
        super().__init__(("127.0.0.1", 0), handler)
        self.port = self.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/jwks.json"

    def answer(self, path):
        """The body for a request of `path`, counting it."""
        with self._lock:
            if self._counted(path):
                self.hits += 1
        return self._body() if self._body else json.dumps(self.jwks).encode()

    def start(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def close(self):
        self.shutdown()
        self.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()


class _JwksHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.server.answer(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if self.server._cache_control:
            self.send_header("Cache-Control", self.server._cache_control)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers every request (any method; a request body is not read)
    with the target and headers it received, as JSON pairs."""

    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": [[k, v] for k, v in self.headers.items()]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, *args):
        pass


class EchoServer(NoStuckAccept, http.server.ThreadingHTTPServer):
    """The echo upstream on an ephemeral port, serving from a thread once
    made: a listen backlog deeper than socketserver's 5, so a burst of
    connections from nginx on a loaded machine is never refused (nginx
    would answer 502). `close()` stops it."""

    request_queue_size = 128
    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), Echo)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def close(self):
        self.shutdown()
        self.server_close()


def echoed_all(echoed, name):
    """Every value the upstream received for header `name`."""
    return [v for k, v in echoed["headers"] if k.lower() == name.lower()]


class HangingIdP:
    """A JWKS endpoint that accepts connections and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/jwks.json"
        self.conns = []
        self.stopped = False
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.stopped = True
        self.sock.close()
        for conn in self.conns:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
