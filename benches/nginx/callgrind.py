"""What the callgrind benchmarks (instructions.py, compare_builds.py) share:
stopping an nginx that runs under callgrind, and reading the total it
counted."""
import re
import socket
import subprocess


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
