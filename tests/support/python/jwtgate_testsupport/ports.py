"""Ports on 127.0.0.1: one nothing listens on, and waiting for a server to
listen."""
import socket
import time


def free_port():
    """A local port nothing listens on (bound, then released): for a server
    about to start, or for an endpoint that must refuse connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port, alive=lambda: True, timeout=10.0):
    """Waits until 127.0.0.1:`port` accepts a connection. False when
    `alive()` turns false (the server exited) or after `timeout` seconds."""
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            if not alive() or time.time() > deadline:
                return False
            time.sleep(0.05)
