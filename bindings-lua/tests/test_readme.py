"""The nginx.conf of the READMEs works as written: the ```nginx block of the
README's "OpenResty / Lua" section and of bindings-lua/README.md run in a
real nginx, with only the paths, the port and the backend replaced (the
library is found through lua_package_cpath, as the snippet says).
"""
import base64
import os
import re
import sys
import unittest

# The shared test support (tests/support/python) and the Nginx module's
# shared cases (bindings-c/nginx), for a direct run too.
_ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
sys.path[:0] = [os.path.join(_ROOT, "tests", "support", "python"), os.path.join(_ROOT, "bindings-c", "nginx")]

from jwtgate_testsupport.lua_nginx import LuaNginx, close_checked  # noqa: E402
from jwtgate_testsupport.paths import ROOT, TARGET  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402

LUA_ROOT = os.path.join(ROOT, "bindings-lua")

ISS = "https://idp.readme.test/"
SECRET = b"readme-snippet-secret-of-32bytes"


def snippet(path, heading):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    section = text[text.index(heading):]
    return re.search(r"```nginx\n(.*?)```", section, re.S).group(1)


class ReadmeSnippets(unittest.TestCase):
    def run_snippet(self, text):
        ng = LuaNginx()
        try:
            policy = ng.write("policy.json", '{"issuers": [{"issuer": "%s", "algorithms": ["HS256"], '
                              '"keys": {"hmac_secret": "%s"}}]}'
                              % (ISS, base64.urlsafe_b64encode(SECRET).rstrip(b"=").decode()))
            for old, new in (("/opt/jwtgate/target", TARGET), ("/opt/jwtgate", ROOT),
                             ("/etc/jwtgate/policy.json", policy), ("listen 8080;", f"listen 127.0.0.1:{ng.port};"),
                             ("http://backend", ng.upstream_url)):
                self.assertIn(old, text)
                text = text.replace(old, new)
            ng.start(ng.preamble(1) + "    access_log off;\n" + text + "\n}\n")
            signer = Signer("HS256", secret=SECRET)

            def get(path, **claims):
                headers = [("Authorization", "Bearer " + signer.sign({"iss": ISS, "sub": "ada", **claims}))]
                status, _, body, _ = ng.request(path, headers)
                return status, body

            self.assertEqual(ng.request("/orders/1", [])[0], 401)
            self.assertEqual(get("/orders/1", scope="orders:read")[0], 200)
            self.assertEqual(get("/orders/1", scope="profile")[0], 403)
            self.assertEqual(get("/admin/x", roles=["admin"])[0], 200)
            self.assertEqual(get("/admin/x", roles=["user"])[0], 403)
            status, body = get("/me", name="Ada")
            self.assertEqual(status, 200)
            self.assertTrue(body.startswith(f"ada {ISS} {{".encode()), body)
        finally:
            close_checked(ng)

    def test_the_readme_snippet(self):
        self.run_snippet(snippet(os.path.join(ROOT, "README.md"), "## OpenResty / Lua"))

    def test_the_binding_readme_snippet(self):
        self.run_snippet(snippet(os.path.join(LUA_ROOT, "README.md"), "## nginx.conf"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
