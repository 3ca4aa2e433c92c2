//! A verifier made (and used) before `fork()` keeps working in the
//! children: no pooled connection, in-flight marker or waiter of the parent
//! survives into a child, and `stats()` keeps each set's `last_error`.
//!
//! One test in this binary, so the fork happens with as few threads as the
//! harness allows. The children report through their exit status and
//! write what failed straight to fd 2.

mod support;

use std::time::{Duration, Instant};

use jwtgate::Verifier;
use serde_json::json;
use support::{Behavior, JwksServer, Key, in_child, jwks, key, wait_ok};

const NOW: f64 = 1_700_000_000.0;

fn token(key: &Key) -> String {
    key.signer.sign(&json!({"sub": "ada", "exp": NOW + 1e9}), None, None).unwrap()
}

fn verifier(uri: String) -> Verifier {
    Verifier::from_value(json!({
        "issuers": [{"algorithms": ["ES256"], "keys": {"jwks_uri": uri, "allow_http": true, "timeout_ms": 3000}}],
        "cache": {"max_entries": 0}
    }))
    .unwrap()
}

fn check(what: &str, ok: bool) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

#[test]
fn verifiers_keep_working_in_children_forked_after_fetches() {
    let (k1, k2) = (key("k1"), key("k2"));

    // 1. A fetch over a kept-alive connection, then two children that each
    //    need a fetch of their own (a rotation): each gets its own connection.
    let server = JwksServer::start(Behavior::Serve { body: jwks(&[&k1]), max_age: Some(600) });
    server.set_keep_alive(true);
    let v = verifier(server.jwks_url());
    assert!(v.verify(token(&k1), Some(NOW)).is_ok());
    server.set(Behavior::Serve { body: jwks(&[&k1, &k2]), max_age: Some(600) });

    // 2. A set whose last fetch failed.
    let failing = JwksServer::start(Behavior::Status(500));
    let broken = verifier(failing.jwks_url());
    assert!(broken.verify(token(&k1), Some(NOW)).is_err());

    // 3. A fetch still in flight in the parent when it forks.
    let slow = JwksServer::start(Behavior::Slow { body: jwks(&[&k1]), delay: Duration::from_millis(800) });
    let pending = verifier(slow.jwks_url());
    assert!(pending.verify_nowait(token(&k1), Some(NOW)).unwrap_err().is_pending());

    let children: Vec<_> = (0..2)
        .map(|i| {
            in_child(&format!("{i}"), || {
                let start = Instant::now();
                let r = v.verify(token(&k2), Some(NOW + 1.0));
                check(&format!("the new key verifies: {r:?}"), r.is_ok())?;
                check("within the wait", start.elapsed() < Duration::from_secs(3))?;
                let stats = broken.stats(Some(NOW));
                let last = stats.key_sets[0].remote.last_error.clone().unwrap_or_default();
                check(&format!("last_error survives the fork: {last:?}"), last.contains("500"))?;
                let r = broken.verify(token(&k1), Some(NOW + 100.0));
                let last = broken.stats(Some(NOW)).key_sets[0].remote.last_error.clone().unwrap_or_default();
                check(
                    &format!("a child's own failure is reported: {r:?} {last:?}"),
                    r.is_err() && last.contains("500"),
                )?;
                // The parent's fetch does not exist here: the child fetches,
                // and its waiter is woken when that fetch ends.
                let start = Instant::now();
                let r = pending.verify(token(&k1), Some(NOW));
                check(&format!("the child's own fetch: {r:?}"), r.is_ok())?;
                check("within the wait", start.elapsed() < Duration::from_millis(2500))
            })
        })
        .collect();
    for pid in children {
        assert!(wait_ok(pid), "a child failed (see its stderr)");
    }
    // Exiting with a fetch in flight does not wait for it.
    let hanging = JwksServer::start(Behavior::Hang(Duration::from_secs(8)));
    let stuck = verifier(hanging.jwks_url());
    let start = Instant::now();
    let pid = in_child("exit", || {
        let r = stuck.verify_nowait(token(&k1), Some(NOW));
        check(&format!("pending: {r:?}"), r.is_err_and(|e| e.is_pending()))?;
        std::process::exit(0)
    });
    assert!(wait_ok(pid), "the exiting child failed");
    assert!(start.elapsed() < Duration::from_secs(3), "exit took {:?}", start.elapsed());
    // The parent's in-flight fetch lands in the parent too.
    let start = Instant::now();
    while pending.verify(token(&k1), Some(NOW)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(5));
        std::thread::sleep(Duration::from_millis(20));
    }
    // One fetch by the parent and one per child, each on its own connection.
    assert_eq!(server.requests(), 3);
    assert_eq!(server.connections(), 3, "a connection was shared across processes");
    assert_eq!(slow.requests(), 3);
}
