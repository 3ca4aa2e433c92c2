"""Sender-constrained tokens through ngx_http_jwtgate_module in a real
nginx: the DPoP request vectors (tests/dpop/gateway_dpop.json, and
tests/dpop/dpop.json with the wall clock frozen at its `now` by
libfaketime), one server per policy, cases in order (so a proof sent twice
is a replay), the protected resource metadata (RFC 9728) answered by the
module itself, and a replay store that cannot answer (fail closed: 503
replay_store_unavailable); and certificate-bound tokens (RFC 8705) against
the TLS client certificate of the connection (`ssl_verify_client`). Each
vector answer is checked by `dpop_cases.check`,
the same check the Lua binding's tests make.
"""
import base64
import hashlib
import http.client
import json
import os
import ssl
import sys
import unittest

# The shared test support (tests/support/python), for a direct run too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support", "python"))

import dpop_cases  # noqa: E402
from jwtgate_testsupport.nginx import TIMEOUT, Nginx  # noqa: E402
from jwtgate_testsupport.paths import ROOT, read  # noqa: E402
from jwtgate_testsupport.ports import free_port  # noqa: E402
from jwtgate_testsupport.signer import Signer  # noqa: E402


def start(ng, policies):
    """One server per policy (Host `<name>.test`), each with its own policy."""
    servers = []
    for name, policy in policies.items():
        path = ng.write(f"{name}.json", json.dumps(policy))
        servers.append(f"""
    server {{
        listen 127.0.0.1:{ng.port};
        server_name {name}.test;
        jwtgate on;
        jwtgate_policy {path};
        location / {{ proxy_pass {ng.upstream_url}; }}
    }}""")
    ng.start(ng.preamble(workers=1) + """
    access_log off;
    add_header X-Jwtgate-Code $jwtgate_code always;
""" + "".join(servers) + "\n}\n")


def close_checked(ng):
    problems = ng.close()
    if problems:
        raise AssertionError("nginx or valgrind found problems:\n\n" + "\n\n".join(problems))


class DpopVectors(unittest.TestCase):
    def test_gateway_dpop_vectors(self):
        doc = dpop_cases.load("gateway_dpop.json")
        ng = Nginx()
        try:
            start(ng, {"gateway": doc["policy"]})
            dpop_cases.gateway_vectors(self, ng, doc)
            # The metadata document is one of them.
            self.assertTrue(any(c["name"].startswith("protected") for c in doc["cases"]))
        finally:
            close_checked(ng)

    def test_dpop_proof_vectors_at_their_instant(self):
        doc = dpop_cases.load("dpop.json")
        ng = Nginx(now=doc["now"])
        try:
            start(ng, dpop_cases.proof_policies(doc, free_port))
            dpop_cases.proof_vectors(self, ng, doc)
        finally:
            close_checked(ng)


def thumbprint(pem_path):
    with open(pem_path, encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()


class CertificateBoundTokens(unittest.TestCase):
    """`ssl_verify_client optional_no_ca`: the handshake proves the client
    holds the certificate's key; the module hands the certificate to the
    core, which checks the token's cnf["x5t#S256"] (RFC 8705 section 3)."""

    SECRET = b"k" * 32
    ISS = "https://idp.example.com/"

    @classmethod
    def setUpClass(cls):
        cls.ng = Nginx()
        keys = os.path.join(ROOT, "tests", "keys")
        cls.alice = (os.path.join(keys, "ecp256.cert.pem"), os.path.join(keys, "ecp256.pem"))
        cls.mallory = (os.path.join(keys, "rsa.cert.pem"), os.path.join(keys, "rsa.pem"))
        policy = {"issuers": [{"issuer": cls.ISS, "algorithms": ["HS256"], "mtls_binding": "required",
                               "keys": {"hmac_secret": base64.urlsafe_b64encode(cls.SECRET).rstrip(b"=").decode()}}]}
        path = cls.ng.write("policy.json", json.dumps(policy))
        cert = cls.ng.write("server.pem", read("tests/keys/rsa.cert.pem"))
        key = cls.ng.write("server.key", read("tests/keys/rsa.pem"), mode=0o600)
        try:
            cls.ng.start(cls.ng.preamble(workers=1) + f"""
    access_log off;
    add_header X-Jwtgate-Code $jwtgate_code always;
    server {{
        listen 127.0.0.1:{cls.ng.port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_verify_client optional_no_ca;
        jwtgate on;
        jwtgate_policy {path};
        location / {{ proxy_pass {cls.ng.upstream_url}; }}
    }}
}}
""")
        except BaseException:
            cls.ng.cleanup()
            raise
        cls.signer = Signer("HS256", secret=cls.SECRET)

    @classmethod
    def tearDownClass(cls):
        close_checked(cls.ng)

    def get(self, token, client=None, headers=()):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the test server's certificate is self-signed
        if client:
            ctx.load_cert_chain(*client)
        conn = http.client.HTTPSConnection("127.0.0.1", self.ng.port, timeout=TIMEOUT, context=ctx)
        try:
            conn.request("GET", "/x", headers={"Authorization": f"Bearer {token}", **dict(headers)})
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, resp.headers.get("X-Jwtgate-Code"), body
        finally:
            conn.close()

    def bound(self, cert_path):
        return self.signer.sign({"iss": self.ISS, "sub": "ada", "cnf": {"x5t#S256": thumbprint(cert_path)}})

    def test_the_connection_certificate_the_token_is_bound_to_passes(self):
        status, code, body = self.get(self.bound(self.alice[0]), self.alice)
        self.assertEqual((status, code), (200, "ok"), body[:300])

    def test_another_certificate_or_none_is_mtls_binding(self):
        token = self.bound(self.alice[0])
        for client in (self.mallory, None):
            status, code, body = self.get(token, client)
            self.assertEqual((status, code), (401, "mtls_binding"), body[:300])

    def test_a_forwarded_certificate_header_from_a_client_counts_for_nothing(self):
        with open(self.alice[0], encoding="ascii") as f:
            forged = f.read().replace("\n", "")
        status, code, _ = self.get(self.bound(self.alice[0]), self.mallory, [("X-Client-Cert", forged)])
        self.assertEqual((status, code), (401, "mtls_binding"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
