"""Sender-constrained tokens through ngx_http_jwtgate_module in a real
nginx: the DPoP request vectors (tests/dpop/gateway_dpop.json, and
tests/dpop/dpop.json with the wall clock frozen at its `now` by
libfaketime), one server per policy, cases in order (so a proof sent twice
is a replay), the protected resource metadata (RFC 9728) answered by the
module itself, and a replay store that cannot answer (fail closed: 503
replay_store_unavailable); and certificate-bound tokens (RFC 8705) against
the TLS client certificate of the connection (`ssl_verify_client`); the
replay store every worker shares (`jwtgate_replay_zone`); and the DPoP
nonce secret every worker shares. Each
vector answer is checked by `dpop_cases.check`,
the same check the Lua binding's tests make.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import ssl
import subprocess
import sys
import time
import unittest
import uuid

# The shared test support (tests/support/python), for a direct run too.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "support", "python"))

import dpop_cases  # noqa: E402
from jwtgate_testsupport.nginx import TIMEOUT, VALGRIND, Nginx  # noqa: E402
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


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Prover:
    """DPoP proofs (RFC 9449 section 4.2) signed with tests/keys/ed25519.pem
    by the openssl command (independent of jwtgate), and access tokens bound
    to that key (`cnf.jkt`) signed with HS256 by libjwtgate."""

    SECRET = b"r" * 32
    ISS = "https://idp.example.com/"
    ORIGIN = "https://api.example.com"

    def __init__(self, folder):
        self.folder = folder
        self.key = os.path.join(ROOT, "tests", "keys", "ed25519.pem")
        pem = read("tests/keys/ed25519.pub.pem").splitlines()
        der = base64.b64decode("".join(line for line in pem if not line.startswith("-----")))
        self.jwk = {"crv": "Ed25519", "kty": "OKP", "x": b64(der[-32:])}  # SubjectPublicKeyInfo ends with the key
        members = json.dumps(self.jwk, separators=(",", ":"), sort_keys=True)
        self.jkt = b64(hashlib.sha256(members.encode()).digest())  # RFC 7638
        self.token = Signer("HS256", secret=self.SECRET).sign({"iss": self.ISS, "sub": "ada", "cnf": {"jkt": self.jkt}})

    def issuer(self, **dpop):
        return {"issuer": self.ISS, "algorithms": ["HS256"], "keys": {"hmac_secret": b64(self.SECRET)},
                "dpop": {"mode": "required", "origin": self.ORIGIN, **dpop}}

    def proof(self, path, iat=None, nonce=None):
        header = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": self.jwk}
        claims = {"jti": str(uuid.uuid4()), "htm": "GET", "htu": self.ORIGIN + path,
                  "iat": time.time() if iat is None else iat,
                  "ath": b64(hashlib.sha256(self.token.encode()).digest())}
        if nonce is not None:
            claims["nonce"] = nonce
        signing_input = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
        message = os.path.join(self.folder, "proof-input")
        with open(message, "w", encoding="ascii") as f:
            f.write(signing_input)
        signature = subprocess.run(["openssl", "pkeyutl", "-sign", "-rawin", "-inkey", self.key, "-in", message],
                                   capture_output=True, check=True, timeout=TIMEOUT).stdout
        return signing_input + "." + b64(signature)

    def headers(self, proof):
        return {"Authorization": f"DPoP {self.token}", "DPoP": proof}


def start_two_workers(ng, policies, zone=None):
    """Two workers, each with its own listening socket (`reuseport`), one
    location `/<name>/` per policy, `X-Worker` ($pid) on every answer,
    `/pid` answered by nginx itself, and `jwtgate_replay_zone zone` when
    `zone` is given."""
    locations = "".join(f"""
        location /{name}/ {{ jwtgate_policy {ng.write(name + ".json", json.dumps(policy))}; jwtgate on;
                              proxy_pass {ng.upstream_url}; }}""" for name, policy in policies.items())
    ng.start(ng.preamble(workers=2) + f"""
    access_log off;
    {f"jwtgate_replay_zone {zone};" if zone else ""}
    add_header X-Jwtgate-Code $jwtgate_code always;
    add_header X-Worker $pid always;
    server {{
        listen 127.0.0.1:{ng.port} reuseport;
        location = /pid {{ return 204; }}{locations}
    }}
}}
""")


class PinnedWorkers:
    """Requests pinned to workers: each worker has its own listening socket
    (`listen ... reuseport`), and a keep-alive connection stays with the
    worker that accepted it, which the `X-Worker` ($pid) response header
    names. The server answers `/pid` itself. `self.ng` is the nginx."""

    def setUp(self):
        self.connections = []

    def tearDown(self):
        for conn in self.connections:
            conn.close()

    def send(self, conn, path, headers=None):
        """(status, X-Jwtgate-Code, worker pid, body)."""
        return self.send_full(conn, path, headers)[:4]

    def send_full(self, conn, path, headers=None):
        """`send`'s answer and the response headers."""
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, resp.headers.get("X-Jwtgate-Code"), int(resp.headers["X-Worker"]), body, resp.headers

    def pinned(self):
        """Two keep-alive connections, each to a different worker."""
        by_worker = {}
        for _ in range(64):
            conn = http.client.HTTPConnection("127.0.0.1", self.ng.port, timeout=TIMEOUT)
            self.connections.append(conn)
            by_worker.setdefault(self.send(conn, "/pid")[2], conn)
            if len(by_worker) == 2:
                return list(by_worker.values())
        self.fail(f"64 connections all reached one worker: {list(by_worker)}")


class NonceAcrossWorkers(PinnedWorkers):
    """DPoP server nonces (RFC 9449 section 8) asked of one worker and used
    on another. `self.prover` signs the proofs."""

    def ask_nonce(self, conn, path):
        """The DPoP-Nonce a proof without one is answered with, and the worker."""
        status, code, pid, body, headers = self.send_full(conn, path, self.prover.headers(self.prover.proof(path)))
        self.assertEqual((status, code), (401, "use_dpop_nonce"), body[:300])
        self.assertTrue(headers["DPoP-Nonce"])
        return headers["DPoP-Nonce"], pid

    def use_nonce(self, conn, path, nonce):
        """(status, X-Jwtgate-Code, worker pid, body, headers) of a proof with `nonce`."""
        return self.send_full(conn, path, self.prover.headers(self.prover.proof(path, nonce=nonce)))

    def assert_nonces_cross_workers(self, path):
        """A nonce from each worker is accepted by the other; returns it."""
        first, second = self.pinned()
        nonce, pid_a = self.ask_nonce(first, path)
        status, code, pid_b, body, _ = self.use_nonce(second, path, nonce)
        self.assertNotEqual(pid_a, pid_b)
        self.assertEqual((status, code), (200, "ok"), f"a nonce of worker {pid_a} on worker {pid_b}: {body[:300]}")
        other, _ = self.ask_nonce(second, path)
        self.assertEqual(other, nonce, "both workers hand out the same nonce")
        status, code, _, body, _ = self.use_nonce(first, path, other)
        self.assertEqual((status, code), (200, "ok"), body[:300])
        return nonce


def policy_nonce(secret, at):
    """The nonce jwtgate derives from `secret` for the 300 s window of `at`
    (core/src/dpop.rs: HMAC-SHA256 of the window number, 18 bytes)."""
    window = int(at) // 300
    return b64(hmac.new(secret, b"jwtgate-dpop-nonce" + window.to_bytes(8, "big"), hashlib.sha256).digest()[:18])


class SharedNonceSecret(NonceAcrossWorkers, unittest.TestCase):
    """`"nonce": true` (the policy names no secret) with two workers: the
    module makes one nonce secret in the master, which every worker
    inherits, so a DPoP-Nonce one worker hands out is accepted by the other.
    With `jwtgate_replay_zone` the secret lives in the zone and outlives
    `nginx -s reload`; without a zone a reload makes a new secret: a nonce
    from before is answered with a new one (use_dpop_nonce), which passes.
    A policy's own `nonce.secret` is kept."""

    OWN = b"n" * 32

    def start(self, zone):
        self.ng = Nginx()
        self.prover = Prover(self.ng.dir)
        policies = {name: {"issuers": [self.prover.issuer(nonce=nonce)]}
                    for name, nonce in [("random", True), ("own", {"secret": b64(self.OWN)})]}
        try:
            start_two_workers(self.ng, policies, "jwtgate_nonce:1m" if zone else None)
        except BaseException:
            self.ng.cleanup()
            raise
        self.addCleanup(close_checked, self.ng)

    def test_with_a_zone_workers_share_the_secret_across_reloads_and_a_policy_keeps_its_own(self):
        self.start(zone=True)
        nonce = self.assert_nonces_cross_workers("/random/a")
        before = time.time()
        own, _ = self.ask_nonce(self.pinned()[0], "/own/a")
        self.assertIn(own, {policy_nonce(self.OWN, before), policy_nonce(self.OWN, time.time())})
        self.assertNotEqual(own, nonce)
        self.ng.reload()
        for conn in self.pinned():
            status, code, _, body, _ = self.use_nonce(conn, "/random/b", nonce)
            self.assertEqual((status, code), (200, "ok"), body[:300])

    # Under valgrind only the zone's case: this one differs in where the 32
    # bytes live (the main configuration), and costs a slow nginx start.
    @unittest.skipIf(VALGRIND, "the zone's case covers the module's code under valgrind")
    def test_without_a_zone_workers_share_the_secret_and_a_reload_asks_once_for_a_new_nonce(self):
        self.start(zone=False)
        old = self.assert_nonces_cross_workers("/random/a")
        self.ng.reload()
        conn = self.pinned()[0]
        status, code, _, body, headers = self.use_nonce(conn, "/random/b", old)
        self.assertEqual((status, code), (401, "use_dpop_nonce"), body[:300])
        self.assertNotEqual(headers["DPoP-Nonce"], old)
        self.assertEqual(self.assert_nonces_cross_workers("/random/c"), headers["DPoP-Nonce"])


class SharedReplayZone(PinnedWorkers, unittest.TestCase):
    """`jwtgate_replay_zone` with two workers: a proof used on one worker is
    a replay on the other, also after `nginx -s reload`; a zone full of live
    proofs refuses new ones (503 replay_store_unavailable) and keeps the old
    ones; expired proofs make room again. Connections are pinned to a
    worker: each worker has its own listening socket (`reuseport`), and a
    keep-alive connection stays with the worker that accepted it, which
    `X-Worker` ($pid) names."""

    # Each proof of /full/ takes a page of the 32k zone: a few fill it.
    LONG_PREFIX = "jwtgate:dpop:" + "p" * 3000

    @classmethod
    def setUpClass(cls):
        cls.ng = Nginx()
        try:
            cls.prover = Prover(cls.ng.dir)
            policies = {
                "shared": {"issuers": [cls.prover.issuer()]},
                "full": {"issuers": [cls.prover.issuer()], "replay_store": {"key_prefix": cls.LONG_PREFIX}},
            }
            start_two_workers(cls.ng, policies, "jwtgate_dpop:32k")
        except BaseException:
            cls.ng.stop()
            cls.ng.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        close_checked(cls.ng)

    def test_a_proof_used_on_one_worker_is_a_replay_on_another_and_after_a_reload(self):
        first, second = self.pinned()
        headers = self.prover.headers(self.prover.proof("/shared/a"))
        status, code, pid_a, body = self.send(first, "/shared/a", headers)
        self.assertEqual((status, code), (200, "ok"), body[:300])
        status, code, pid_b, body = self.send(second, "/shared/a", headers)
        self.assertNotEqual(pid_a, pid_b)
        self.assertEqual((status, code), (401, "invalid_dpop_proof"), body[:300])
        self.assertIn(b"replayed", body)
        # A reload keeps the zone (same name and size) and what it holds.
        self.ng.reload()
        self.assertEqual(self.ng.request("/shared/a", list(headers.items()))[0], 401)
        fresh = self.prover.headers(self.prover.proof("/shared/b"))
        status, headers_, body, _ = self.ng.request("/shared/b", list(fresh.items()))
        self.assertEqual((status, headers_.get("X-Jwtgate-Code")), (200, "ok"), body[:300])

    def test_a_full_zone_refuses_new_proofs_keeps_live_ones_and_reclaims_expired_ones(self):
        first, second = self.pinned()
        # Proofs that expire `ttl` seconds from now (iat that far inside the
        # 60 s window): enough to fill the zone before any expires.
        ttl = 12 if VALGRIND else 4
        expires = time.time() + ttl
        accepted, refused = [], None
        for i in range(40):
            headers = self.prover.headers(self.prover.proof(f"/full/{i}", iat=expires - 60))
            status, code, _, body = self.send((first, second)[i % 2], f"/full/{i}", headers)
            if status == 503:
                refused = (code, json.loads(body)["error"], headers)
                break
            self.assertEqual((status, code), (200, "ok"), body[:300])
            accepted.append((i, headers))
        self.assertLess(time.time(), expires, "proofs expired while the zone was filled: raise ttl")
        self.assertIsNotNone(refused, "40 proofs of 3 KiB keys fit a 32k zone")
        self.assertGreaterEqual(len(accepted), 2)
        self.assertEqual(refused[:2], ("replay_store_unavailable", "replay_store_unavailable"))
        # Live entries are kept: a full zone still knows the old proofs.
        i, headers = accepted[0]
        status, code, _, _ = self.send(second, f"/full/{i}", headers)
        self.assertEqual((status, code), (401, "invalid_dpop_proof"))
        # Once they have expired, a new proof finds room.
        time.sleep(max(0.0, expires - time.time()) + 1.1)
        headers = self.prover.headers(self.prover.proof("/full/late"))
        status, code, _, body = self.send(first, "/full/late", headers)
        self.assertEqual((status, code), (200, "ok"), body[:300])


    def test_nginx_t_checks_the_zone_and_warns_where_workers_would_not_share_proofs(self):
        policy = self.ng.write("dpop-t.json", json.dumps({"issuers": [self.prover.issuer()]}))

        def check(http_level, workers=2):
            conf = self.ng.write("t.conf", self.ng.preamble(workers=workers) + http_level + f"""
    server {{ listen 127.0.0.1:{free_port()}; jwtgate_policy {policy}; }}
}}
""")
            done = self.ng.run("-t", "-c", conf)
            return done.returncode, done.stderr

        warning = "a proof replayed to another worker is accepted there"
        self.assertIn(warning, check("")[1])
        self.assertNotIn(warning, check("", workers=1)[1])
        status, stderr = check("jwtgate_replay_zone jwtgate_t:1m;")
        self.assertEqual(status, 0, stderr)
        self.assertNotIn(warning, stderr)
        for bad, why in [("jwtgate_replay_zone jwtgate_t:16k;", "too small"),
                         ("jwtgate_replay_zone jwtgate_t;", "use name:size"),
                         ("jwtgate_replay_zone jwtgate_t:1m; jwtgate_replay_zone other:1m;", "is duplicate")]:
            status, stderr = check(bad)
            self.assertEqual(status, 1, bad)
            self.assertIn(why, stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
