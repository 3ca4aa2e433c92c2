"""Runs Debian's nginx on 127.0.0.1 for the tests of the Nginx module and
of lua-resty-jwtgate.

One nginx per `Nginx` object, with its own prefix folder, in front of an
upstream that echoes the request headers it received.

Two wrappers, both optional:

- `JWTGATE_NGINX_VALGRIND=1` runs every nginx process (master, workers, and
  the `nginx -t` / `nginx -s reload` invocations, which load the module and
  the policy too) under valgrind's memcheck. `problems()` then includes
  every error and every definite leak that is not nginx's own (see
  `valgrind.is_nginx_own`); the tests assert it is empty.
- `now=<unix seconds>` freezes the wall clock at that instant with
  libfaketime (Debian's `faketime` package), so the shared vectors, which pin
  `now`, get the decision they expect. The monotonic clock stays real, so
  nginx's timers and the JWKS cache keep working.
"""
import datetime
import http.client
import json
import os
import signal
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

from . import nginx_conf, valgrind
from .paths import FAKETIME_LIB, MODULE, NGINX
from .ports import free_port, wait_port
from .servers import EchoServer

VALGRIND = os.environ.get("JWTGATE_NGINX_VALGRIND") == "1"
# Valgrind slows start-up (the module loads aws-lc and every policy) about
# tenfold; requests stay quick enough for the same per-request timeout.
TIMEOUT = 60 if VALGRIND else 10


def run_tests():
    """Runs the calling script's tests, once the module is built."""
    if not os.path.exists(MODULE):
        sys.exit(f"FAILED: {MODULE} is missing: run bindings-c/nginx/build.sh")
    unittest.main(module="__main__", verbosity=2)


class Nginx:
    """A prefix folder, an echo upstream, and (after `start`) nginx itself.

    The caller writes its files into `dir` (world-readable: the workers run
    as an unprivileged user under root) and its config, using `port` and
    `upstream_url`, then calls `start(conf)`. `modules` are the dynamic
    modules `preamble` loads (a subclass may load others).
    """

    modules = (MODULE,)

    def __init__(self, now=None):
        self.dir = tempfile.mkdtemp(prefix="jwtgate-nginx-")
        os.chmod(self.dir, 0o755)
        self.port = free_port()
        if now is not None and now != int(now):
            raise ValueError("libfaketime takes whole seconds: now must be an integer")
        self.now = now
        self.proc = None
        self.stopped = False
        self.killed = False
        self.conf = None
        self.upstream = EchoServer()
        self.upstream_url = self.upstream.url
        self.log = open(os.path.join(self.dir, "stderr.log"), "w")
        self.valgrind_dir = os.path.join(self.dir, "valgrind")
        os.mkdir(self.valgrind_dir)

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
        return path

    def preamble(self, workers):
        """The start of a config: the modules, logs and pid in `dir`, and the
        opening of the http block with its temp paths in `dir`."""
        return nginx_conf.preamble(self.dir, self.modules, workers)

    def command(self, *args):
        """The nginx command line and environment, with the wrappers."""
        cmd = [NGINX, "-p", self.dir, *args]
        env = dict(os.environ)
        if self.now is not None:
            if not os.path.exists(FAKETIME_LIB):
                raise RuntimeError(f"{FAKETIME_LIB} is missing: apt-get install faketime")
            stamp = datetime.datetime.fromtimestamp(self.now, datetime.timezone.utc)
            env.update(LD_PRELOAD=FAKETIME_LIB, FAKETIME=stamp.strftime("%Y-%m-%d %H:%M:%S"), TZ="UTC",
                       FAKETIME_DONT_FAKE_MONOTONIC="1")
        if VALGRIND:
            cmd = ["valgrind", "-q", "--num-callers=40", "--leak-check=full", "--show-leak-kinds=definite",
                   "--errors-for-leak-kinds=definite", f"--log-file={self.valgrind_dir}/%p.log", *cmd]
        return cmd, env

    def start(self, conf_text):
        if self.now is not None:
            # nginx hands its workers only the variables named by `env`.
            conf_text = "env FAKETIME;\nenv FAKETIME_DONT_FAKE_MONOTONIC;\n" + conf_text
        self.conf = self.write("nginx.conf", conf_text)
        cmd, env = self.command("-c", self.conf, "-g", "daemon off;")
        # Its own process group, so a kill reaches the workers too.
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        if not wait_port(self.port, lambda: self.proc.poll() is None, TIMEOUT):
            self.stop()
            report = self.errors() + "\n".join(self.problems())
            self.cleanup()
            raise RuntimeError("nginx did not start:\n" + report)

    def run(self, *args):
        """One more nginx invocation with this prefix (`-t`, `-s reload`)."""
        cmd, env = self.command(*args)
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=TIMEOUT)

    def errors(self):
        """The end of nginx's stderr and error log, for failure messages."""
        return self.errors_all(tail=4000)

    def errors_all(self, tail=None):
        text = ""
        for name in ("stderr.log", "error.log"):
            path = os.path.join(self.dir, name)
            if os.path.exists(path):
                with open(path, encoding="utf-8", errors="replace") as f:
                    text += f.read()[-tail:] if tail else f.read()
        return text

    def workers(self):
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.proc.pid)], capture_output=True, text=True,
                             timeout=TIMEOUT).stdout
        return {int(pid) for pid in out.split()}

    def reload(self):
        """`nginx -s reload`, then waits until every old worker is gone, so
        each later request meets a worker with the new policy."""
        old = self.workers()
        done = self.run("-c", self.conf, "-s", "reload")
        if done.returncode != 0:
            raise AssertionError("nginx -s reload failed:\n" + done.stderr)
        deadline = time.time() + TIMEOUT
        while True:
            current = self.workers()
            if current and not (current & old):
                return
            if time.time() > deadline:
                raise AssertionError("old workers still running after reload:\n" + self.errors())
            time.sleep(0.05)

    def stop(self):
        """Stops nginx and the upstream; keeps the folder until `cleanup`.

        SIGQUIT is nginx's graceful shutdown: the master waits for every
        worker to finish, run its exit handlers and (under valgrind) its leak
        check. SIGTERM would make the master SIGKILL workers still busy after
        about a second, which can cut a leak check short unseen. Only if the
        whole group is still there after TIMEOUT is it killed, and
        `problems` then says so. Never raises."""
        if self.stopped:
            return
        self.stopped = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.killed = True
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=TIMEOUT)
        self.upstream.close()
        self.log.close()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def close(self):
        """Stops everything, removes the folder and returns `problems()`
        (read before the folder goes)."""
        self.stop()
        problems = self.problems()
        self.cleanup()
        return problems

    def get(self, path, headers=None):
        """GET `path`: (status, response headers, what the upstream echoed or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.request("GET", path, headers=headers or {})
            resp = conn.getresponse()
            body = resp.read()
            echoed = json.loads(body) if resp.status == 200 and body.startswith(b"{") else None
            return resp.status, resp.headers, echoed
        finally:
            conn.close()

    def request(self, target, headers=(), method="GET", host=None):
        """Sends `target` as it is with `headers`, a list of (name, value)
        pairs sent in order, repeated names included. Returns (status,
        response headers, body bytes, what the upstream echoed or None)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        try:
            conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            conn.putheader("Host", host or "localhost")
            for name, value in headers:
                conn.putheader(name, value.encode("latin-1") if isinstance(value, str) else value)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
            echoed = json.loads(body) if resp.status == 200 and body.startswith(b'{"path"') else None
            return resp.status, resp.headers, body, echoed
        finally:
            conn.close()

    def problems(self):
        """What went wrong in the processes this object ran, once stopped:
        a kill, a master that failed, a worker that died on a signal, and
        under valgrind every report that is ours (`valgrind_reports`)."""
        problems = []
        if self.killed:
            problems.append(f"nginx did not stop within {TIMEOUT} s and was killed: the reports are incomplete")
        elif self.proc is not None and self.proc.returncode not in (None, 0):
            problems.append(f"the nginx master exited with status {self.proc.returncode}")
        # A worker that died on a signal (a crash, or killed) wrote no report.
        problems += [line for line in self.errors_all().splitlines() if "exited on signal" in line]
        if VALGRIND:
            problems += self.valgrind_reports()
        return problems

    def valgrind_reports(self):
        """Every valgrind report that is ours to fix (`valgrind.ours`), by log file."""
        reports = []
        for name in sorted(os.listdir(self.valgrind_dir)):
            with open(os.path.join(self.valgrind_dir, name), encoding="utf-8", errors="replace") as f:
                text = f.read()
            reports += [f"{name}:\n" + "\n".join(block) for block in valgrind.ours(text)]
        return reports
