"""Checks one sender-constrained request vector (tests/dpop/*.json) against
what a real nginx answered, for the C module's tests and the Lua binding's
alike: status, code (`X-Jwtgate-Code`), the challenge (whole, or its start
where the vector gives only that), the DPoP-Nonce of use_dpop_nonce, the
metadata document of RFC 9728, and for allowed requests the upstream's
headers.
"""
import json
import os

from jwtgate_testsupport.paths import ROOT
from jwtgate_testsupport.servers import echoed_all

DPOP = os.path.join(ROOT, "tests", "dpop")


def load(name):
    with open(os.path.join(DPOP, name), encoding="utf-8") as f:
        return json.load(f)


def check(test, ng, host, case):
    """Sends `case` to `ng` with Host `host`; `test` is the unittest.TestCase."""
    req, expect = case["request"], case["expect"]
    status, headers, body, echoed = ng.request(req["url"], req["headers"], method=req["method"], host=host)
    if [n.lower() for n, _ in req["headers"]].count("authorization") > 1:
        test.assertEqual(status, 400)  # nginx refuses a second Authorization line itself
        return
    test.assertEqual(status, expect["status"], body[:300])
    code = headers.get("X-Jwtgate-Code")
    if expect["code"]:
        test.assertEqual(code, expect["code"])
    elif expect["allow"]:
        test.assertEqual(code, "ok")
    else:
        test.assertFalse(code)  # the metadata document: no code
    challenges = headers.get_all("WWW-Authenticate") or []
    if case.get("prefix_only") and expect.get("www_authenticate") is None:
        # dpop.json gives the start of the challenge, or null for "any"
        test.assertEqual(len(challenges), 1 if status == 401 else 0, challenges)
    elif "www_authenticate" not in expect:  # the vector does not say: one challenge on a 401
        test.assertEqual(len(challenges), 1 if status == 401 else 0, challenges)
    elif expect["www_authenticate"] is None:
        test.assertEqual(challenges, [])
    elif case.get("prefix_only"):
        test.assertEqual(len(challenges), 1, challenges)
        test.assertTrue(challenges[0].startswith(expect["www_authenticate"]), challenges)
    else:
        test.assertEqual(challenges, [expect["www_authenticate"]])
    if expect.get("dpop_nonce"):
        test.assertEqual(headers.get("DPoP-Nonce"), expect["dpop_nonce"])
    if expect["allow"]:
        test.assertIsNotNone(echoed, "the upstream was not reached")
        for name, value in expect.get("upstream_headers", {}).items():
            test.assertEqual(echoed_all(echoed, name), [] if value is None else [value], name)
    else:
        test.assertIsNone(echoed)
        if "body" in expect:
            test.assertEqual(json.loads(body), expect["body"])
        elif expect["code"]:
            test.assertEqual(json.loads(body)["error"], expect["code"])


def gateway_vectors(test, ng, doc, host="gateway.test"):
    """Every case of gateway_dpop.json, in order, against the server `ng`
    runs for its policy under Host `host`."""
    test.assertGreater(len(doc["cases"]), 5)
    for case in doc["cases"]:
        test.assertEqual(case["routes"], [])
        with test.subTest(case=case["name"]):
            check(test, ng, host, case)


def proof_policies(doc, free_port):
    """dpop.json's policies, plus `redis_down`: the `allowed` policy with a
    replay store that cannot answer."""
    policies = dict(doc["policies"])
    policies["redis_down"] = dict(policies["allowed"], replay_store={
        "redis": f"redis://127.0.0.1:{free_port()}/0", "timeout_ms": 200})
    return policies


def proof_vectors(test, ng, doc):
    """Every case of dpop.json (server per policy, Host `<policy>.test`, the
    clock frozen at the vectors' `now`), then the first case against
    `redis_down.test`: fail closed, 503 replay_store_unavailable."""
    test.assertGreater(len(doc["cases"]), 30)
    codes = set()
    for case in doc["cases"]:
        test.assertEqual(case["request"]["now"], doc["now"])
        with test.subTest(case=case["name"]):
            check(test, ng, f"{case['policy']}.test", dict(case, prefix_only=True))
            codes.add(case["expect"]["code"])
    test.assertTrue({"invalid_dpop_proof", "use_dpop_nonce", "dpop_binding"} <= codes, codes)
    first = doc["cases"][0]
    test.assertEqual(first["expect"]["status"], 200)
    status, headers, body, _ = ng.request(first["request"]["url"], first["request"]["headers"],
                                          host="redis_down.test")
    test.assertEqual((status, headers.get("X-Jwtgate-Code")), (503, "replay_store_unavailable"), body)
    test.assertEqual(headers.get("Retry-After"), "1")
    test.assertEqual(json.loads(body)["error"], "replay_store_unavailable")
