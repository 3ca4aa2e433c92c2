"""What the callgrind benchmarks (instructions.py, compare_builds.py) share:
stopping an nginx that runs under callgrind, and reading the total it
counted, and sending it the requests to count."""
import http.client
import re
import socket
import subprocess

from jwtgate_testsupport.ports import wait_port


def stop(proc, port):
    """Terminates nginx (master_process off) under callgrind, which then
    writes its profile. Under valgrind a signal may not interrupt nginx's
    epoll_wait: a connection to `port` wakes it to see the signal."""
    proc.terminate()
    for _ in range(60):
        try:
            proc.wait(timeout=2)
            return
        except subprocess.TimeoutExpired:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
            except OSError:
                pass
    proc.kill()
    raise SystemExit("nginx did not exit under callgrind")


def total(profile_path):
    """The instruction total of a callgrind profile."""
    with open(profile_path) as f:
        m = re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M)
    if not m:
        raise SystemExit(f"no totals in {profile_path}")
    return int(m.group(1))


def send(proc, port, target, headers, k):
    """Waits (up to 120 s: callgrind starts nginx slowly) until nginx
    listens on `port`, then sends `k` GETs of `target` with `headers` on
    one keep-alive connection; each must answer 200."""
    if not wait_port(port, lambda: proc.poll() is None, timeout=120):
        raise SystemExit("nginx did not start under callgrind")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for _ in range(k):
        conn.request("GET", target, headers=headers)
        resp = conn.getresponse()
        resp.read()
        if resp.status != 200:
            raise SystemExit(f"{target}: status {resp.status}")
    conn.close()
