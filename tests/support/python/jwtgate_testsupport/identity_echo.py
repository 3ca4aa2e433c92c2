"""An upstream for the shell scripts (the Nginx demo, the .deb install
test): answers every GET with one line of plain text naming the path and
the identity headers it received, so a script can show or grep what the
gateway forwarded.

    python3 -m jwtgate_testsupport.identity_echo PORT [HEADER ...]

(default headers: X-User and X-Dept). Run with tests/support/python on
PYTHONPATH; serves until killed.
"""
import http.server
import sys


def handler(names):
    class IdentityEcho(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            who = ", ".join(f"{h}={self.headers[h]}" for h in names if h in self.headers)
            body = f"upstream saw {self.path}: {who or 'no identity headers'}\n".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return IdentityEcho


def main(argv):
    if not argv:
        raise SystemExit(__doc__)
    names = argv[1:] or ["X-User", "X-Dept"]
    http.server.HTTPServer(("127.0.0.1", int(argv[0])), handler(names)).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
