//! The Redis replay store against a real `redis-server` on 127.0.0.1,
//! started and stopped here: a proof accepted by one verifier is a replay
//! for another (two processes sharing Redis), also in a child forked after
//! the connection was made; a stopped server fails closed (or open, when
//! the policy says so) quickly; a restarted one is reconnected.
//!
//! One test in this binary, so the fork happens with as few threads as the
//! harness allows. Needs `redis-server` on the PATH (`apt-get install
//! redis-server`); `JWTGATE_SKIP_REDIS=1` skips it.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use jwtgate::Verifier;
use serde_json::{Value, json};
use support::{RedisServer, decide, in_child, wait_ok};

/// One command through the redis crate's own client.
fn redis_cmd(port: u16, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/0"))?;
    let mut conn = client.get_connection_with_timeout(Duration::from_millis(200))?;
    let mut cmd = redis::cmd(args[0]);
    for arg in &args[1..] {
        cmd.arg(*arg);
    }
    cmd.query(&mut conn)
}

fn vectors() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/dpop/dpop.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn proofs_are_accepted_once_across_processes_sharing_redis() {
    if std::env::var_os("JWTGATE_SKIP_REDIS").is_some() {
        eprintln!("JWTGATE_SKIP_REDIS is set: the Redis replay store is not tested");
        return;
    }
    let doc = vectors();
    // The accepted cases of the "allowed" policy that carry a proof.
    let proofs: Vec<Value> = doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["policy"] == "allowed" && c["expect"]["allow"] == true)
        .filter(|c| c["request"]["headers"].as_array().unwrap().iter().any(|h| h[0] == "DPoP"))
        .map(|c| c["request"].clone())
        .collect();
    assert!(proofs.len() >= 6);

    let mut server = RedisServer::start(None);
    let mut policy = doc["policies"]["allowed"].clone();
    policy["replay_store"] = json!({"redis": server.url(), "timeout_ms": 200});
    let a = Verifier::from_value(policy.clone()).unwrap();
    let b = Verifier::from_value(policy.clone()).unwrap();

    // 1. One verifier accepts, the other sees the replay.
    assert!(decide(&a, &proofs[0]).allow);
    let replay = decide(&b, &proofs[0]);
    assert_eq!(replay.code(), Some("invalid_dpop_proof"), "{:?}", replay.error);
    assert!(replay.error.unwrap().message().contains("replayed"));

    // 2. One key, kept as long as the proof could be accepted (iat + 60 s).
    let keys = redis_cmd(server.port, &["KEYS", "jwtgate:dpop:*"]).unwrap();
    let redis::Value::Array(keys) = keys else { panic!("KEYS: {keys:?}") };
    assert_eq!(keys.len(), 1);
    let redis::Value::BulkString(key) = &keys[0] else { panic!("{keys:?}") };
    let key = String::from_utf8(key.clone()).unwrap();
    let jkt = doc["keys"]["client_jkt"].as_str().unwrap();
    assert!(key.starts_with(&format!("jwtgate:dpop:{jkt}:")), "{key}");
    let ttl = redis_cmd(server.port, &["PTTL", &key]).unwrap();
    assert!(matches!(ttl, redis::Value::Int(ms) if ms > 55_000 && ms <= 60_000), "{ttl:?}");

    // 2b. Eight verifiers (eight processes' stores) race on one proof: one wins.
    let racers: Vec<Verifier> = (0..8).map(|_| Verifier::from_value(policy.clone()).unwrap()).collect();
    let barrier = std::sync::Barrier::new(racers.len());
    let wins = std::thread::scope(|scope| {
        let handles: Vec<_> = racers
            .iter()
            .map(|v| {
                let (barrier, request) = (&barrier, &proofs[5]);
                scope.spawn(move || {
                    barrier.wait();
                    decide(v, request).allow
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).filter(|w| *w).count()
    });
    assert_eq!(wins, 1, "exactly one of the racing verifiers accepts the proof");

    // 3. A child forked after `a` connected makes its own connection.
    let child_request = proofs[1].clone();
    let child_verifier = &a;
    let pid = in_child("replay", move || {
        let decision = decide(child_verifier, &child_request);
        if decision.allow { Ok(()) } else { Err(format!("refused: {:?}", decision.error)) }
    });
    assert!(wait_ok(pid), "the child's proof was not accepted");
    assert_eq!(decide(&b, &proofs[1]).code(), Some("invalid_dpop_proof"), "the child's proof is remembered");
    assert!(decide(&a, &proofs[2]).allow, "the parent's connection still works after the fork");

    // 4. Server down: fail closed, quickly; fail_open accepts.
    server.stop();
    let started = Instant::now();
    let down = decide(&a, &proofs[3]);
    assert_eq!((down.status, down.code()), (503, Some("replay_store_unavailable")), "{:?}", down.error);
    assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
    let mut open = policy.clone();
    open["replay_store"]["on_error"] = json!("fail_open");
    assert!(decide(&Verifier::from_value(open).unwrap(), &proofs[3]).allow);

    // 5. Back up on the same port: reconnected.
    let server = RedisServer::start(Some(server.port));
    assert!(decide(&a, &proofs[4]).allow);
    assert_eq!(decide(&b, &proofs[4]).code(), Some("invalid_dpop_proof"));
    drop(server);
}
