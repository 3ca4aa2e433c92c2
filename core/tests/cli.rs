//! Runs the `jwtgate` command as users do: keygen, sign, verify, inspect,
//! jwks and bench, checking output and exit status.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Longest any single run may take before the test kills it and fails.
const TIMEOUT: Duration = Duration::from_secs(60);

struct Run {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Run {
    fn code(&self) -> i32 {
        self.status.code().expect("exited normally")
    }

    /// stdout as JSON lines.
    fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.stdout))
    }
}

/// Runs the command with `stdin` and a bounded wait.
fn jwtgate<S: AsRef<std::ffi::OsStr>>(args: &[S], stdin: &[u8]) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start jwtgate");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let reader_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let reader_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "jwtgate {:?} did not finish in {TIMEOUT:?}",
                args.iter().map(|a| a.as_ref()).collect::<Vec<_>>()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    writer.join().unwrap();
    let stdout = String::from_utf8(reader_out.join().unwrap()).expect("UTF-8 stdout");
    let stderr = String::from_utf8(reader_err.join().unwrap()).expect("UTF-8 stderr");
    Run { status, stdout, stderr }
}

fn run(args: &[&str]) -> Run {
    jwtgate(args, b"")
}

/// A fresh folder under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("jwtgate-cli-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_owned()
    }

    fn write(&self, name: &str, text: &str) -> String {
        std::fs::write(self.0.join(name), text).unwrap();
        self.path(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const ISS: &str = "https://idp.test/";

/// An ES256 key made by `keygen --out-dir`, a policy trusting its public
/// JWK inline, and the folder holding both.
struct Es256 {
    dir: TempDir,
    kid: String,
    policy: String,
}

fn es256(name: &str) -> Es256 {
    let dir = TempDir::new(name);
    let out = dir.path("keys");
    let made = run(&["keygen", "--alg", "ES256", "--kid", "es-1", "--out-dir", &out]);
    assert_eq!(made.code(), 0, "{}", made.stderr);
    let summary = made.json();
    assert_eq!(summary["kid"], "es-1");
    assert_eq!(summary["alg"], "ES256");
    let pem = std::fs::read_to_string(dir.0.join("keys/es-1.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"), "{pem}");
    assert!(summary.get("private_key").is_none(), "the private key is written, not printed");
    let jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.0.join("keys/es-1.jwk.json")).unwrap()).unwrap();
    assert_eq!(jwk, summary["public_jwk"]);
    assert!(jwk.get("d").is_none(), "public JWK holds no private part");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.0.join("keys/es-1.pem")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
    let policy = json!({"issuers": [{"issuer": ISS, "algorithms": ["ES256"], "keys": {"jwks": {"keys": [jwk]}},
                                     "forward": {"claims_to_headers": {"sub": "X-User"}}}]});
    let policy = dir.write("policy.json", &policy.to_string());
    Es256 { dir, kid: "es-1".into(), policy }
}

impl Es256 {
    fn sign(&self, claims: &Value, extra: &[&str]) -> String {
        let key = self.dir.path("keys/es-1.pem");
        let claims = claims.to_string();
        let mut args = vec!["sign", "--alg", "ES256", "--key", &key, "--kid", &self.kid];
        args.extend_from_slice(extra);
        args.push(&claims);
        let signed = run(&args);
        assert_eq!(signed.code(), 0, "{}", signed.stderr);
        let token = signed.stdout.trim_end().to_owned();
        assert_eq!(token.split('.').count(), 3, "{token}");
        token
    }
}

#[test]
fn es256_keygen_sign_verify_round_trip() {
    let k = es256("es256");
    let token = k.sign(&json!({"iss": ISS, "sub": "ada", "roles": ["admin"]}), &["--lifetime", "600"]);
    let verified = run(&["verify", "--policy", &k.policy, &token]);
    assert_eq!(verified.code(), 0, "{} {}", verified.stdout, verified.stderr);
    let lines = verified.lines();
    assert_eq!(lines.len(), 1);
    let v = &lines[0];
    assert_eq!(v["valid"], true);
    assert_eq!(v["issuer"], ISS);
    assert_eq!(v["claims"]["sub"], "ada");
    assert_eq!(v["claims"]["roles"], json!(["admin"]));
    assert!(v["claims"]["exp"].as_i64().unwrap() > v["claims"]["iat"].as_i64().unwrap());
    assert_eq!(v["header"]["kid"], "es-1");
    assert_eq!(v["header"]["alg"], "ES256");
    assert_eq!(v["headers"]["X-User"], "ada");
    assert!(verified.stdout.starts_with("{\"valid\":true,"), "{}", verified.stdout);
}

#[test]
fn es256k_ed25519_and_ml_dsa_keygen_sign_verify_round_trip() {
    for alg in ["ES256K", "Ed25519", "ML-DSA-44", "ML-DSA-65", "ML-DSA-87"] {
        let dir = TempDir::new(&format!("alg-{alg}"));
        let keys = dir.path("keys");
        let made = run(&["keygen", "--alg", alg, "--kid", "k", "--out-dir", &keys]);
        assert_eq!(made.code(), 0, "{alg}: {}", made.stderr);
        let jwk = made.json()["public_jwk"].clone();
        assert_eq!(jwk["alg"], alg);
        match alg {
            "ES256K" => assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("EC"), &json!("secp256k1"))),
            "Ed25519" => assert_eq!((&jwk["kty"], &jwk["crv"]), (&json!("OKP"), &json!("Ed25519"))),
            _ => assert!(jwk["kty"] == "AKP" && jwk["pub"].is_string() && jwk.get("priv").is_none(), "{jwk}"),
        }
        let policy = json!({"issuers": [{"algorithms": [alg], "keys": {"jwks": {"keys": [jwk]}}}]});
        let policy = dir.write("policy.json", &policy.to_string());
        let key = dir.path("keys/k.pem");
        let signed = run(&["sign", "--alg", alg, "--key", &key, "--kid", "k", r#"{"sub":"ada"}"#]);
        assert_eq!(signed.code(), 0, "{alg}: {}", signed.stderr);
        let token = signed.stdout.trim_end();
        let verified = run(&["verify", "--policy", &policy, token]);
        assert_eq!(verified.code(), 0, "{alg}: {} {}", verified.stdout, verified.stderr);
        assert_eq!(verified.lines()[0]["header"]["alg"], alg);
        // The same PEM published by `jwks` names the same key.
        let published = run(&["jwks", "--alg", alg, "--kid-from-file-name", &key]);
        assert_eq!(published.code(), 0, "{alg}: {}", published.stderr);
        assert_eq!(published.json()["keys"][0]["kid"], "k");
    }
}

#[test]
fn hs256_keygen_sign_verify_round_trip() {
    let dir = TempDir::new("hs256");
    let made = run(&["keygen", "--alg", "HS256", "--out-dir", &dir.path("keys")]);
    assert_eq!(made.code(), 0, "{}", made.stderr);
    let summary = made.json();
    let kid = summary["kid"].as_str().unwrap().to_owned();
    assert_eq!(summary["public_jwk"], Value::Null, "an HMAC secret has no public JWK");
    let secret_file = summary["private_key_file"].as_str().unwrap().to_owned();
    assert!(secret_file.ends_with(&format!("{kid}.secret")), "{secret_file}");
    let secret = std::fs::read_to_string(&secret_file).unwrap().trim().to_owned();
    assert_eq!(jwtgate::base64url_decode(&secret).map(|s| s.len()), Some(32));

    let policy = json!({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": secret}}]});
    let policy = dir.write("policy.json", &policy.to_string());
    // The secret from a file, claims from stdin.
    let signed = jwtgate(&["sign", "--alg", "HS256", "--secret-file", &secret_file], b"{\"sub\":\"bob\"}");
    assert_eq!(signed.code(), 0, "{}", signed.stderr);
    let from_file = signed.stdout.trim_end().to_owned();
    // The secret as an argument.
    let signed = run(&["sign", "--alg", "HS256", "--secret", &secret, "--kid", &kid, "{\"sub\":\"eve\"}"]);
    assert_eq!(signed.code(), 0, "{}", signed.stderr);
    let from_arg = signed.stdout.trim_end().to_owned();

    let verified = run(&["verify", "--policy", &policy, &from_file, &from_arg]);
    assert_eq!(verified.code(), 0, "{} {}", verified.stdout, verified.stderr);
    let lines = verified.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["claims"]["sub"], "bob");
    assert_eq!(lines[1]["claims"]["sub"], "eve");
    assert_eq!(lines[1]["header"]["kid"], kid.as_str());
    assert_eq!(lines[0]["issuer"], Value::Null);

    // The secret as a private JWK that names its own alg and kid.
    let jwk = dir.write(
        "oct.jwk.json",
        &json!({"kty": "oct", "k": secret, "alg": "HS256", "kid": "oct-1"}).to_string(),
    );
    let signed = run(&["sign", "--jwk", &jwk, "{\"sub\":\"jo\"}"]);
    assert_eq!(signed.code(), 0, "{}", signed.stderr);
    let verified = run(&["verify", "--policy", &policy, signed.stdout.trim_end()]);
    assert_eq!(verified.code(), 0, "{}", verified.stdout);
    assert_eq!(verified.lines()[0]["header"]["kid"], "oct-1");
    assert_eq!(verified.lines()[0]["claims"]["sub"], "jo");

    // A different secret fails the signature.
    let other = jwtgate::base64url_encode([9u8; 32]);
    let forged = run(&["sign", "--alg", "HS256", "--secret", &other, "{\"sub\":\"mallory\"}"]);
    let rejected = run(&["verify", "--policy", &policy, forged.stdout.trim_end()]);
    assert_eq!(rejected.code(), 1);
    assert_eq!(rejected.lines()[0]["code"], "signature");
}

#[test]
fn tampered_token_exits_1_with_signature() {
    let k = es256("tampered");
    let token = k.sign(&json!({"iss": ISS, "sub": "ada"}), &[]);
    let parts: Vec<&str> = token.split('.').collect();
    let payload = jwtgate::base64url_encode(json!({"iss": ISS, "sub": "root"}).to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let out = run(&["verify", "--policy", &k.policy, &tampered]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    let lines = out.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["valid"], false);
    assert_eq!(lines[0]["code"], "signature");
    assert!(lines[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(lines[0].get("claims").is_none());
    assert!(out.stdout.starts_with("{\"valid\":false,\"code\":\"signature\""), "{}", out.stdout);
}

#[test]
fn expiry_follows_now() {
    let k = es256("expired");
    let t0 = "1000000000";
    let token = k.sign(&json!({"iss": ISS, "sub": "ada"}), &["--lifetime", "60", "--now", t0]);
    let inside = run(&["verify", "--policy", &k.policy, "--now", "1000000059", &token]);
    assert_eq!(inside.code(), 0, "{}", inside.stdout);
    assert_eq!(inside.lines()[0]["claims"]["exp"], 1_000_000_060);
    assert_eq!(inside.lines()[0]["claims"]["iat"], 1_000_000_000);
    let at_exp = run(&["verify", "--policy", &k.policy, "--now", "1000000060", &token]);
    assert_eq!(at_exp.code(), 1);
    let line = &at_exp.lines()[0];
    assert_eq!(line["code"], "expired");
    assert_eq!(line["claim"], "exp");
    // Without --now the system clock applies: issued in 2001, long expired.
    let today = run(&["verify", "--policy", &k.policy, &token]);
    assert_eq!(today.code(), 1);
    assert_eq!(today.lines()[0]["code"], "expired");
}

#[test]
fn stdin_tokens_one_per_line() {
    let k = es256("stdin");
    let good = k.sign(&json!({"iss": ISS, "sub": "ada"}), &[]);
    let bad = format!("{}x", &good[..good.len() - 1]);
    let bad = if bad == good { format!("{}y", &good[..good.len() - 1]) } else { bad };
    // "\r\n" and "\n" endings are both stripped.
    let input = format!("{good}\r\n{bad}\n");
    let out = jwtgate(&["verify", "--policy", &k.policy], input.as_bytes());
    assert_eq!(out.code(), 1, "{}", out.stderr);
    let lines = out.lines();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["claims"]["sub"], "ada");
    assert_eq!(lines[1]["valid"], false);
    assert!(lines[1]["code"].is_string());

    // A last line without a newline counts; all valid exits 0.
    let out = jwtgate(&["verify", "--policy", &k.policy], format!("{good}\n{good}").as_bytes());
    assert_eq!(out.code(), 0, "{}", out.stdout);
    assert_eq!(out.lines().len(), 2);

    // Only the line ending is stripped: a trailing space is part of the token.
    let out = jwtgate(&["verify", "--policy", &k.policy], format!("{good} \n").as_bytes());
    assert_eq!(out.code(), 1);
    assert_eq!(out.lines()[0]["valid"], false);

    // A huge line is answered too_large without being held whole.
    let mut huge = vec![b'a'; 1 << 20];
    huge.extend_from_slice(b"\n");
    huge.extend_from_slice(good.as_bytes());
    let out = jwtgate(&["verify", "--policy", &k.policy], &huge);
    assert_eq!(out.code(), 1);
    let lines = out.lines();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["code"], "too_large");
    assert_eq!(lines[1]["valid"], true);

    // No tokens at all is a usage error, not "all valid".
    let out = jwtgate(&["verify", "--policy", &k.policy], b"");
    assert_eq!(out.code(), 2);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("no tokens"), "{}", out.stderr);
}

/// Verdicts are buffered, yet each reaches the pipe as soon as no more
/// input is waiting: a caller that writes one token and then waits for its
/// line gets it (a deadlock fails the test at the timeout, it does not hang).
#[test]
fn stdin_answers_each_token_before_the_next_arrives() {
    use std::io::BufRead;
    use std::sync::mpsc;
    let k = es256("interactive");
    let good = k.sign(&json!({"iss": ISS, "sub": "ada"}), &[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_jwtgate"))
        .args(["verify", "--policy", &k.policy])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jwtgate");
    let mut input = child.stdin.take().unwrap();
    let output = std::io::BufReader::new(child.stdout.take().unwrap());
    let (lines, received) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in output.lines() {
            if lines.send(line.expect("read stdout")).is_err() {
                break;
            }
        }
    });
    let next_line = |child: &mut std::process::Child| -> Value {
        match received.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => serde_json::from_str(&line).unwrap(),
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no verdict while the next token is not yet written ({e:?}): output is not flushed");
            }
        }
    };
    // Tokens split across writes: the verdict still waits for the whole line.
    let (head, tail) = good.split_at(good.len() / 2);
    for (i, token) in [good.as_str(), "not.a.token", good.as_str()].into_iter().enumerate() {
        if i == 2 {
            input.write_all(head.as_bytes()).unwrap();
            input.flush().unwrap();
            std::thread::sleep(Duration::from_millis(50));
            input.write_all(format!("{tail}\n").as_bytes()).unwrap();
        } else {
            input.write_all(format!("{token}\n").as_bytes()).unwrap();
        }
        input.flush().unwrap();
        let verdict = next_line(&mut child);
        assert_eq!(verdict["valid"], i != 1, "token {i}: {verdict}");
        if i == 1 {
            assert_eq!(verdict["code"], "malformed");
        } else {
            assert_eq!(verdict["claims"]["sub"], "ada");
        }
    }
    drop(input);
    assert!(received.recv_timeout(Duration::from_secs(20)).is_err(), "no verdict without a token");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    reader.join().unwrap();
}

/// Many tokens in one stream: one verdict per token, in order, with the
/// claims and headers the library returns; claims whose JSON text spans
/// lines still give one line.
#[test]
fn stdin_stream_keeps_order_and_one_line_per_token() {
    use aws_lc_rs::hmac;
    let secret = [7u8; 32];
    let dir = TempDir::new("stream");
    let policy = json!({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": jwtgate::base64url_encode(secret)},
                                     "forward": {"claims_to_headers": {"sub": "X-User"}}}]});
    let policy = dir.write("policy.json", &policy.to_string());
    let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
    let token = |payload: &str| {
        let input = format!(
            "{}.{}",
            jwtgate::base64url_encode(r#"{"alg":"HS256"}"#),
            jwtgate::base64url_encode(payload)
        );
        let tag = hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", jwtgate::base64url_encode(tag.as_ref()))
    };
    let mut input = String::new();
    for i in 0..3000 {
        let payload = if i % 1000 == 7 {
            format!("{{\n  \"sub\": \"user-{i}\",\r\n  \"n\": {i}\n}}")
        } else {
            format!(r#"{{"sub":"user-{i}","n":{i}}}"#)
        };
        input.push_str(&if i % 10 == 3 { "x.y.z".to_owned() } else { token(&payload) });
        input.push('\n');
    }
    let out = jwtgate(&["verify", "--policy", &policy], input.as_bytes());
    assert_eq!(out.code(), 1, "{}", out.stderr);
    let lines = out.lines();
    assert_eq!(lines.len(), 3000);
    for (i, line) in lines.iter().enumerate() {
        if i % 10 == 3 {
            assert_eq!(line["code"], "malformed", "{i}: {line}");
            continue;
        }
        assert_eq!(line["valid"], true, "{i}: {line}");
        assert_eq!(line["claims"], json!({"sub": format!("user-{i}"), "n": i}), "{i}");
        assert_eq!(line["header"], json!({"alg": "HS256"}));
        assert_eq!(line["headers"], json!({"X-User": format!("user-{i}")}));
        assert_eq!(line["issuer"], Value::Null);
    }
}

/// `--lifetime` takes durations with units and plain seconds; bad input
/// is a usage error that says what is expected.
#[test]
fn sign_lifetime_takes_units() {
    let secret = jwtgate::base64url_encode([3u8; 32]);
    let exp_of = |lifetime: &str| {
        let out = run(&[
            "sign",
            "--alg",
            "HS256",
            "--secret",
            &secret,
            "--lifetime",
            lifetime,
            "--now",
            "1000",
            "{}",
        ]);
        assert_eq!(out.code(), 0, "{lifetime}: {}", out.stderr);
        let claims = jwtgate::unverified::decode_unverified(out.stdout.trim_end()).unwrap().claims;
        assert_eq!(claims["iat"], 1000, "{lifetime}");
        claims["exp"].as_u64().unwrap() - 1000
    };
    for (lifetime, seconds) in
        [("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172_800), ("1h30m", 5400), ("300", 300)]
    {
        assert_eq!(exp_of(lifetime), seconds, "{lifetime}");
    }
    for bad in ["1x", "abc", "500ms", "1h-", "99999999999999999999999"] {
        let out = run(&["sign", "--alg", "HS256", "--secret", &secret, "--lifetime", bad, "{}"]);
        assert_eq!(out.code(), 2, "{bad}");
        assert!(out.stdout.is_empty(), "{bad}: {}", out.stdout);
        assert!(out.stderr.contains("--lifetime"), "{bad}: {}", out.stderr);
    }
    let out = run(&["sign", "--alg", "HS256", "--secret", &secret, "--lifetime", "1q", "{}"]);
    assert!(out.stderr.contains("such as 90s, 30m, 1h, 2d"), "{}", out.stderr);
    let out = run(&["sign", "--alg", "HS256", "--secret", &secret, "--lifetime", "500ms", "{}"]);
    assert!(out.stderr.contains("whole number of seconds"), "{}", out.stderr);
}

/// Errors print the library's stable code and its message in words,
/// never a Rust type or variant name.
#[test]
fn key_errors_print_code_and_words() {
    let k = es256("key-words");
    let pem = k.dir.path("keys/es-1.pem");
    let out = run(&["sign", "--alg", "RS256", "--key", &pem, "{}"]);
    assert_eq!(out.code(), 2);
    assert!(
        out.stderr.contains("es-1.pem: key: private key rejected for RS256: the key is of another type"),
        "{}",
        out.stderr
    );
    let jwk = k.dir.path("keys/es-1.jwk.json");
    let out = run(&["sign", "--jwk", &jwk, "{}"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("es-1.jwk.json: key: "), "{}", out.stderr);
    let out = run(&["jwks", "--alg", "RS256", &pem]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains(": key: "), "{}", out.stderr);
    // A policy whose inline key does not parse.
    let policy = json!({"issuers": [{"algorithms": ["ES256"],
        "keys": {"jwks": {"keys": [{"kty": "EC", "crv": "P-256", "kid": "x",
            "x": jwtgate::base64url_encode([1u8; 32]), "y": jwtgate::base64url_encode([2u8; 32])}]}}}]});
    let policy = k.dir.write("bad-key-policy.json", &policy.to_string());
    let out = run(&["verify", "--policy", &policy, "a.b.c"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("jwtgate: error: policy: "), "{}", out.stderr);
    assert!(out.stderr.contains("public key: the key is not validly encoded"), "{}", out.stderr);
    let rust_names =
        ["WrongAlgorithm", "InvalidEncoding", "InconsistentComponents", "KeyRejected", "Error {"];
    for args in
        [&["sign", "--alg", "RS256", "--key", &pem, "{}"][..], &["verify", "--policy", &policy, "a.b.c"][..]]
    {
        let out = run(args);
        for name in rust_names {
            assert!(!out.stderr.contains(name), "{args:?}: {name} in {}", out.stderr);
        }
    }
}

/// Completions load in bash and know the subcommands and their flags;
/// the man pages are roff with every subcommand and flag.
#[test]
fn completions_and_man_pages() {
    let dir = TempDir::new("docs");
    let bash = run(&["completions", "bash"]);
    assert_eq!(bash.code(), 0, "{}", bash.stderr);
    for word in ["verify", "sign", "--lifetime", "--policy", "completions"] {
        assert!(bash.stdout.contains(word), "bash completions lack {word}");
    }
    let script = dir.write("jwtgate.bash", &bash.stdout);
    let loaded = Command::new("bash")
        .args(["--norc", "-c", &format!("source {script} && complete -p jwtgate")])
        .output()
        .expect("run bash");
    assert!(loaded.status.success(), "{}", String::from_utf8_lossy(&loaded.stderr));
    assert!(String::from_utf8_lossy(&loaded.stdout).contains("jwtgate"));
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = run(&["completions", shell]);
        assert_eq!(out.code(), 0, "{shell}: {}", out.stderr);
        assert!(out.stdout.contains("verify") && out.stdout.contains("lifetime"), "{shell}");
    }
    let out = run(&["completions", "tcsh"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("bash"), "{}", out.stderr);

    let man = run(&["man"]);
    assert_eq!(man.code(), 0, "{}", man.stderr);
    assert!(man.stdout.contains(".TH jwtgate 1"), "{}", man.stdout);
    assert!(man.stdout.contains("jwtgate\\-verify(1)"), "{}", man.stdout);
    let pages = dir.path("man1");
    assert_eq!(run(&["man", "--out-dir", &pages]).code(), 0);
    for sub in ["verify", "decide", "inspect", "sign", "keygen", "jwks", "bench", "completions", "man"] {
        let page = std::fs::read_to_string(Path::new(&pages).join(format!("jwtgate-{sub}.1"))).unwrap();
        assert!(page.contains(&format!(".TH jwtgate-{sub} 1")), "{sub}: {page}");
    }
    let sign = std::fs::read_to_string(Path::new(&pages).join("jwtgate-sign.1")).unwrap();
    assert!(sign.contains("\\-\\-lifetime"), "{sign}");
}

/// `--cache` keeps the policy's verified-token cache: repeated tokens get
/// the same verdicts as without it, and a cached token still expires.
#[test]
fn verify_with_cache_gives_the_same_verdicts() {
    let k = es256("verify-cache");
    let token = k.sign(&json!({"iss": ISS, "sub": "ada"}), &["--lifetime", "1h", "--now", "1000"]);
    let input = format!("{token}\n{token}\nx.y.z\n{token}\n");
    let plain = jwtgate(&["verify", "--policy", &k.policy, "--now", "2000"], input.as_bytes());
    let cached = jwtgate(&["verify", "--cache", "--policy", &k.policy, "--now", "2000"], input.as_bytes());
    assert_eq!(plain.code(), 1);
    assert_eq!(cached.code(), 1);
    assert_eq!(cached.lines(), plain.lines());
    assert_eq!(cached.lines()[3]["claims"]["sub"], "ada");
    let late = jwtgate(&["verify", "--cache", "--policy", &k.policy, "--now", "4600"], input.as_bytes());
    assert!(late.lines().iter().all(|l| l["valid"] == false), "{}", late.stdout);
    assert_eq!(late.lines()[0]["code"], "expired");
}

#[test]
fn bad_policy_exits_2() {
    let dir = TempDir::new("badpolicy");
    let unknown_field = dir.write(
        "p.json",
        r#"{"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": "AAAA"}, "leway_s": 5}]}"#,
    );
    let out = run(&["verify", "--policy", &unknown_field, "a.b.c"]);
    assert_eq!(out.code(), 2);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(out.stderr.contains("leway_s"), "{}", out.stderr);
    assert!(out.stderr.contains("policy"), "{}", out.stderr);

    let not_json = dir.write("q.json", "{ nope");
    let out = run(&["verify", "--policy", &not_json, "a.b.c"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("policy"), "{}", out.stderr);

    let missing = dir.path("missing.json");
    let out = run(&["verify", "--policy", &missing, "a.b.c"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("missing.json"), "{}", out.stderr);

    let out = run(&["bench", "--policy", &unknown_field, "a.b.c"]);
    assert_eq!(out.code(), 2);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["verify", "a.b.c"][..],
        &["nonsense"][..],
        &["verify", "--policy", "p.json", "--now", "yesterday", "a.b.c"][..],
        &["sign", "--alg", "XS256", "--secret", "AAAA", "{}"][..],
        &["sign", "--alg", "HS256", "{}"][..],
        &["sign", "--alg", "HS256", "--secret", "AAAA", "--key", "k.pem", "{}"][..],
        &["keygen"][..],
        &["jwks", "--alg", "ES256"][..],
        &["bench", "--policy", "p.json", "--threads", "0", "a.b.c"][..],
    ] {
        let out = run(args);
        assert_eq!(out.code(), 2, "{args:?}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "{args:?}: {}", out.stdout);
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    // Bad input that passes clap still exits 2 with a clear message.
    let out = jwtgate(&["sign", "--alg", "HS256", "--secret", "not base64!"], b"{}");
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("base64url"), "{}", out.stderr);
    let secret = jwtgate::base64url_encode([1u8; 32]);
    let out = run(&["sign", "--alg", "HS256", "--secret", &secret, "[1, 2]"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("object"), "{}", out.stderr);
    let out = run(&["sign", "--alg", "HS256", "--secret", &secret, "{"]);
    assert_eq!(out.code(), 2);
    assert!(out.stderr.contains("JSON"), "{}", out.stderr);
}

#[test]
fn help_for_every_subcommand() {
    for (sub, flag) in [
        ("verify", "--policy"),
        ("inspect", "TOKEN"),
        ("sign", "--lifetime"),
        ("keygen", "--out-dir"),
        ("jwks", "KEYFILE"),
        ("bench", "--seconds"),
        ("decide", "--route"),
    ] {
        let out = run(&[sub, "--help"]);
        assert_eq!(out.code(), 0, "{sub}: {}", out.stderr);
        assert!(out.stdout.contains(flag), "{sub}: {}", out.stdout);
    }
    let out = run(&["--help"]);
    assert_eq!(out.code(), 0);
    assert!(out.stdout.contains("Exit status"), "{}", out.stdout);
}

#[test]
fn inspect_shows_claims_marked_unverified() {
    let k = es256("inspect");
    let token = k.sign(&json!({"iss": ISS, "sub": "ada"}), &["--lifetime", "60", "--now", "1000000000"]);
    // Expired, and tampered too: inspect decodes it anyway and says so.
    let parts: Vec<&str> = token.split('.').collect();
    let payload = jwtgate::base64url_encode(json!({"sub": "root", "n": 1}).to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    for (t, sub) in [(&token, "ada"), (&tampered, "root")] {
        let out = run(&["inspect", t]);
        assert_eq!(out.code(), 0, "{}", out.stderr);
        let v = out.json();
        assert_eq!(v["verified"], false);
        assert_eq!(v["claims"]["sub"], sub);
        assert_eq!(v["header"]["alg"], "ES256");
        assert_eq!(v["header"]["kid"], "es-1");
        assert!(out.stderr.contains("WITHOUT verification"), "{}", out.stderr);
        assert!(out.stdout.trim_start().starts_with("{\n  \"verified\": false"), "{}", out.stdout);
    }
    let out = jwtgate(&["inspect", "-"], format!("{token}\n").as_bytes());
    assert_eq!(out.code(), 0, "{}", out.stderr);
    assert_eq!(out.json()["claims"]["exp"], 1_000_000_060);

    let out = run(&["inspect", "not-a-token"]);
    assert_eq!(out.code(), 1);
    assert!(out.stdout.is_empty());
    assert!(out.stderr.contains("malformed"), "{}", out.stderr);
}

#[test]
fn jwks_output_verifies_tokens_of_the_matching_keys() {
    let dir = TempDir::new("jwks");
    let keys = dir.path("keys");
    let mut pems = Vec::new();
    for (alg, kid) in [("ES256", "ec-a"), ("RS256", "rsa-b"), ("EdDSA", "ed-c")] {
        let made = run(&["keygen", "--alg", alg, "--kid", kid, "--out-dir", &keys]);
        assert_eq!(made.code(), 0, "{alg}: {}", made.stderr);
        pems.push((alg, kid, made.json()["private_key_file"].as_str().unwrap().to_owned()));
    }
    // --alg for the plain file, ALG:FILE for the others; kids from file names.
    let rsa_spec = format!("RS256:{}", pems[1].2);
    let ed_spec = format!("EdDSA:{}", pems[2].2);
    let out = run(&["jwks", "--alg", "ES256", "--kid-from-file-name", &pems[0].2, &rsa_spec, &ed_spec]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let set = out.json();
    let listed: Vec<&str> =
        set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(listed, ["ec-a", "rsa-b", "ed-c"]);
    for key in set["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(key.get(private).is_none(), "public JWKS leaks {private}: {key}");
        }
    }
    let policy = json!({"issuers": [{"algorithms": ["ES256", "RS256", "EdDSA"], "keys": {"jwks": set}}]});
    let policy = dir.write("policy.json", &policy.to_string());
    let mut tokens = Vec::new();
    for (alg, kid, pem) in &pems {
        let signed = run(&["sign", "--alg", alg, "--key", pem, "--kid", kid, "{\"sub\":\"ada\"}"]);
        assert_eq!(signed.code(), 0, "{}", signed.stderr);
        tokens.push(signed.stdout.trim_end().to_owned());
    }
    let mut args = vec!["verify".to_owned(), "--policy".into(), policy.clone()];
    args.extend(tokens.iter().cloned());
    let out = jwtgate(&args, b"");
    assert_eq!(out.code(), 0, "{}", out.stdout);
    let lines = out.lines();
    assert_eq!(lines.len(), 3);
    for (line, (alg, kid, _)) in lines.iter().zip(&pems) {
        assert_eq!(line["header"]["alg"], *alg);
        assert_eq!(line["header"]["kid"], *kid);
    }

    // A key left out of the JWKS is not trusted.
    let made = run(&["keygen", "--alg", "ES256", "--kid", "ec-z", "--out-dir", &keys]);
    assert_eq!(made.code(), 0);
    let stray = Path::new(&keys).join("ec-z.pem");
    let signed = run(&["sign", "--alg", "ES256", "--key", stray.to_str().unwrap(), "--kid", "ec-z", "{}"]);
    let out = run(&["verify", "--policy", &policy, signed.stdout.trim_end()]);
    assert_eq!(out.code(), 1);
    assert_eq!(out.lines()[0]["code"], "key_not_found");

    // Without --kid-from-file-name the kid is the RFC 7638 thumbprint, as keygen's default.
    let made = run(&["keygen", "--alg", "ES256", "--out-dir", &keys]);
    let summary = made.json();
    let out = run(&["jwks", "--alg", "ES256", summary["private_key_file"].as_str().unwrap()]);
    assert_eq!(out.json()["keys"][0]["kid"], summary["kid"]);
    // and sign puts that same kid in the header when --kid is not given.
    let key = summary["private_key_file"].as_str().unwrap();
    let signed = run(&["sign", "--alg", "ES256", "--key", key, "{}"]);
    let header = run(&["inspect", signed.stdout.trim_end()]).json()["header"].clone();
    assert_eq!(header["kid"], summary["kid"]);

    // keygen never overwrites a key.
    let again = run(&["keygen", "--alg", "ES256", "--kid", "ec-a", "--out-dir", &keys]);
    assert_eq!(again.code(), 2);
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
}

#[test]
fn jwks_keeps_the_kid_keygen_gave_a_pem_file() {
    // keygen --kid k1, sign with that key, publish `jwks` of the PEM: the
    // set names the key k1 (from k1.jwk.json beside it), so the token verifies.
    let dir = TempDir::new("jwks-kid");
    let keys = dir.path("keys");
    assert_eq!(run(&["keygen", "--alg", "ES256", "--kid", "k1", "--out-dir", &keys]).code(), 0);
    let pem = dir.path("keys/k1.pem");
    let out = run(&["jwks", "--alg", "ES256", &pem]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let set = out.json();
    assert_eq!(set["keys"][0]["kid"], "k1");
    let policy = json!({"issuers": [{"issuer": ISS, "algorithms": ["ES256"], "keys": {"jwks": set}}]});
    let policy = dir.write("policy.json", &policy.to_string());
    let claims = format!(r#"{{"iss":"{ISS}","sub":"ada"}}"#);
    for extra in [&["--kid", "k1"][..], &[][..]] {
        let mut args = vec!["sign", "--alg", "ES256", "--key", &pem, "--lifetime", "300"];
        args.extend_from_slice(extra);
        args.push(&claims);
        let signed = run(&args);
        let token = signed.stdout.trim_end();
        assert_eq!(run(&["inspect", token]).json()["header"]["kid"], "k1", "sign {extra:?}");
        let verified = run(&["verify", "--policy", &policy, token]);
        assert_eq!(verified.code(), 0, "sign {extra:?}: {}", verified.stdout);
    }

    // A sibling JWK of another key is not this key's: the thumbprint stays.
    assert_eq!(run(&["keygen", "--alg", "ES256", "--kid", "k2", "--out-dir", &keys]).code(), 0);
    std::fs::copy(dir.path("keys/k2.jwk.json"), dir.path("keys/k1.jwk.json")).unwrap();
    let out = run(&["jwks", "--alg", "ES256", &pem]);
    let kid = out.json()["keys"][0]["kid"].as_str().unwrap().to_owned();
    assert_ne!(kid, "k1");
    assert_ne!(kid, "k2");
    assert_eq!(kid.len(), 43, "an RFC 7638 SHA-256 thumbprint: {kid}");
}

#[test]
fn keygen_prints_without_out_dir() {
    let out = run(&["keygen", "--alg", "ES384"]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let v = out.json();
    let pem = v["private_key"].as_str().unwrap();
    assert!(pem.contains("BEGIN PRIVATE KEY"));
    assert_eq!(v["public_jwk"]["crv"], "P-384");
    assert_eq!(v["public_jwk"]["kid"], v["kid"]);
    // The printed key signs.
    let dir = TempDir::new("keygen");
    let pem_file = dir.write("k.pem", pem);
    let signed = run(&["sign", "--alg", "ES384", "--key", &pem_file, "{\"a\":1}"]);
    assert_eq!(signed.code(), 0, "{}", signed.stderr);
    // A kid that cannot be a file name is refused before anything is written.
    let out = run(&["keygen", "--alg", "ES256", "--kid", "../evil", "--out-dir", &dir.path("o")]);
    assert_eq!(out.code(), 2);
    assert!(!dir.0.join("o").exists());
}

#[test]
fn bench_reports_rates_with_and_without_cache() {
    let k = es256("bench");
    let token = k.sign(&json!({"iss": ISS, "sub": "ada"}), &["--lifetime", "3600"]);
    let out = run(&["bench", "--policy", &k.policy, "--seconds", "0.1", "--threads", "2", "--json", &token]);
    assert_eq!(out.code(), 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["alg"], "ES256");
    assert_eq!(v["threads"], 2);
    for row in ["cache_on", "cache_off"] {
        for col in ["one_thread", "all_threads"] {
            assert!(v[row][col].as_f64().unwrap() > 0.0, "{row}.{col}: {v}");
        }
    }
    let table = run(&["bench", "--policy", &k.policy, "--seconds", "0.05", "--threads", "1", &token]);
    assert_eq!(table.code(), 0, "{}", table.stderr);
    assert!(table.stdout.contains("cache on") && table.stdout.contains("cache off"), "{}", table.stdout);

    let parts: Vec<&str> = token.split('.').collect();
    let payload = jwtgate::base64url_encode(json!({"iss": ISS, "sub": "root"}).to_string());
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    let out = run(&["bench", "--policy", &k.policy, "--seconds", "0.05", &tampered]);
    assert_eq!(out.code(), 1);
    assert!(out.stderr.contains("signature"), "{}", out.stderr);
}

/// `bench` shows what it is measuring on stderr when stderr is a terminal
/// (here a pseudo-terminal from util-linux `script`), and nothing when it
/// is a pipe.
#[test]
fn bench_shows_progress_only_on_a_terminal() {
    let k = es256("bench-progress");
    let token = k.sign(&json!({"iss": ISS, "sub": "ada"}), &["--lifetime", "1h"]);
    let piped = run(&["bench", "--policy", &k.policy, "--seconds", "0.05", "--threads", "1", &token]);
    assert_eq!(piped.code(), 0, "{}", piped.stderr);
    assert!(piped.stderr.is_empty(), "progress on a pipe: {}", piped.stderr);

    let command = format!(
        "{} bench --policy {} --seconds 0.05 --threads 1 {token}",
        env!("CARGO_BIN_EXE_jwtgate"),
        k.policy
    );
    let on_tty = match Command::new("script").args(["-qec", &command, "/dev/null"]).output() {
        Ok(out) => out,
        Err(e) => panic!("util-linux `script` is needed for this test: {e}"),
    };
    let text = String::from_utf8_lossy(&on_tty.stdout);
    assert!(on_tty.status.success(), "{text}");
    for step in 1..=4 {
        assert!(text.contains(&format!("jwtgate bench: run {step} of 4")), "{text}");
    }
    assert!(text.contains("cache off"), "{text}");
    assert!(text.contains("tokens per second"), "the table still follows: {text}");
}

/// base64url secrets, key ids (RFC 7638 thumbprints) and tokens may start
/// with '-': they are values, not flags.
#[test]
fn values_starting_with_a_hyphen_are_not_flags() {
    let secret = "-".to_owned() + &"A".repeat(42) + "Q";
    let signed = run(&["sign", "--alg", "HS256", "--secret", &secret, "--kid", "-k1", "{\"sub\":\"x\"}"]);
    assert_eq!(signed.code(), 0, "{}", signed.stderr);
    let token = signed.stdout.trim_end().to_owned();
    assert!(jwtgate::unverified::decode_unverified(&token).unwrap().header["kid"] == "-k1");
    let dir = TempDir::new("hyphen");
    let policy = json!({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": secret}}]});
    let policy = dir.write("policy.json", &policy.to_string());
    assert_eq!(run(&["verify", "--policy", &policy, &token]).code(), 0);
    // A token-like argument starting with '-' is a token (malformed), not a usage error.
    let odd = run(&["verify", "--policy", &policy, "-x.y.z"]);
    assert_eq!(odd.code(), 1, "{}", odd.stderr);
    assert!(odd.stdout.contains("\"malformed\""), "{}", odd.stdout);
}

/// The shared gateway vectors through `jwtgate decide`: the printed
/// decision, the exit status, and the headers the upstream would see.
#[test]
fn decide_runs_every_gateway_vector() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/gateway/gateway.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(root).unwrap()).unwrap();
    let dir = TempDir::new("decide");
    let policy = dir.write("policy.json", &doc["policy"].to_string());
    let mut failures = Vec::new();
    let cases = doc["cases"].as_array().unwrap();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let request = &case["request"];
        let mut args: Vec<String> = vec!["decide".into(), "--policy".into(), policy.clone()];
        args.extend(["--method".into(), request["method"].as_str().unwrap().into()]);
        args.extend(["--url".into(), request["url"].as_str().unwrap().into()]);
        for h in request["headers"].as_array().unwrap() {
            args.extend(["-H".into(), format!("{}: {}", h[0].as_str().unwrap(), h[1].as_str().unwrap())]);
        }
        for level in case["routes"].as_array().unwrap() {
            args.extend(["--route".into(), level.to_string()]);
        }
        let out = jwtgate(&args, b"");
        let got = out.json();
        let expect = &case["expect"];
        let want_exit = if expect["allow"] == true { 0 } else { 1 };
        if out.code() != want_exit {
            failures.push(format!("{name}: exit {} ({})", out.code(), out.stderr));
        }
        for field in ["allow", "status", "code", "www_authenticate"] {
            if got[field] != expect[field] {
                failures.push(format!("{name}: {field} {} instead of {}", got[field], expect[field]));
            }
        }
        if expect["allow"] != true {
            continue;
        }
        let removed: Vec<&str> =
            got["remove_headers"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        let mut upstream: Vec<(String, String)> = request["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| (h[0].as_str().unwrap().to_ascii_lowercase(), h[1].as_str().unwrap().to_owned()))
            // The decision's rule: `_` and `-` alike (`Decision::removes_header`).
            .filter(|(n, _)| !removed.contains(&n.replace('_', "-").as_str()))
            .collect();
        for pair in got["set_headers"].as_array().unwrap() {
            upstream
                .push((pair[0].as_str().unwrap().to_ascii_lowercase(), pair[1].as_str().unwrap().to_owned()));
        }
        for (header, want) in expect["upstream_headers"].as_object().unwrap() {
            let seen: Vec<&str> =
                upstream.iter().filter(|(n, _)| n == header).map(|(_, v)| v.as_str()).collect();
            let ok = match want {
                Value::Null => seen.is_empty(),
                w => seen == [w.as_str().unwrap()],
            };
            if !ok {
                failures.push(format!("{name}: upstream {header} {seen:?} instead of {want}"));
            }
        }
        let url = got["upstream_url"].as_str().unwrap_or(request["url"].as_str().unwrap());
        if url != expect["upstream_url"] {
            failures.push(format!("{name}: upstream URL {url}"));
        }
    }
    assert!(cases.len() >= 30);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn decide_usage_errors_exit_2() {
    let dir = TempDir::new("decide-usage");
    let policy = dir.write("policy.json", &json!({"issuers": [{"algorithms": ["HS256"], "keys": {"hmac_secret": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA"}}]}).to_string());
    let bad_header = jwtgate(&["decide", "--policy", &policy, "-H", "no colon"], b"");
    assert_eq!(bad_header.code(), 2, "{}", bad_header.stderr);
    let bad_route = jwtgate(&["decide", "--policy", &policy, "--route", r#"{"clams": {}}"#], b"");
    assert_eq!(bad_route.code(), 2);
    assert!(bad_route.stderr.contains("clams"), "{}", bad_route.stderr);
    let missing = jwtgate(&["decide", "--policy", &policy, "--url", "/x"], b"");
    assert_eq!(missing.code(), 1);
    assert_eq!(missing.json()["code"], "missing_token");
    assert_eq!(missing.json()["www_authenticate"], "Bearer");
}

/// `--client-cert` and `--peer` reach `Request`: a certificate-bound
/// token is allowed with its certificate (direct, or forwarded by a
/// trusted proxy) and refused without.
#[test]
fn decide_takes_the_client_certificate_and_the_peer() {
    use aws_lc_rs::digest;
    let dir = TempDir::new("decide-mtls");
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client".to_owned()]).unwrap().self_signed(&key).unwrap();
    let cert_file = dir.write("client.pem", &cert.pem());
    let secret = [4u8; 32];
    let policy = dir.write(
        "policy.json",
        &json!({"issuers": [{"algorithms": ["HS256"], "mtls_binding": "required",
                             "keys": {"hmac_secret": jwtgate::base64url_encode(secret)}}],
                "trusted_proxies": ["10.0.0.0/8"]})
        .to_string(),
    );
    let x5t = jwtgate::base64url_encode(digest::digest(&digest::SHA256, cert.der()));
    let signer = jwtgate::Signer::from_secret(jwtgate::Algorithm::HS256, &secret, None).unwrap();
    let token = signer.sign(&json!({"sub": "ada", "cnf": {"x5t#S256": x5t}}), Some(300), None).unwrap();
    let auth = format!("Authorization: Bearer {token}");
    let with_cert = jwtgate(&["decide", "--policy", &policy, "-H", &auth, "--client-cert", &cert_file], b"");
    assert_eq!(with_cert.code(), 0, "{}", with_cert.stdout);
    let without = jwtgate(&["decide", "--policy", &policy, "-H", &auth], b"");
    assert_eq!((without.code(), without.json()["code"].clone()), (1, json!("mtls_binding")));
    let escaped =
        percent_encoding::utf8_percent_encode(&cert.pem(), percent_encoding::NON_ALPHANUMERIC).to_string();
    let forwarded = format!("X-Client-Cert: {escaped}");
    let proxied =
        jwtgate(&["decide", "--policy", &policy, "-H", &auth, "-H", &forwarded, "--peer", "10.0.0.7"], b"");
    assert_eq!(proxied.code(), 0, "{}", proxied.stdout);
    let spoofed =
        jwtgate(&["decide", "--policy", &policy, "-H", &auth, "-H", &forwarded, "--peer", "192.0.2.1"], b"");
    assert_eq!(spoofed.code(), 1);
}

/// Every shared vector (`tests/vectors/*.json`) through `jwtgate verify`:
/// one process per policy and clock, its tokens as arguments, one verdict
/// line each in order; a policy that must not load exits 2.
#[test]
fn shared_vectors_through_verify() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors");
    let mut files: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    // (policy text, now) -> [(vector name, token, expect)], in file order.
    type Case = (String, String, Value);
    type Group = ((String, Option<String>), Vec<Case>);
    let mut groups: Vec<Group> = Vec::new();
    for path in &files {
        let file: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        for v in file["vectors"].as_array().unwrap() {
            let policy = match &v["policy"] {
                Value::String(name) => &file["policies"][name],
                inline => inline,
            };
            let key = (policy.to_string(), v.get("now").map(|n| n.to_string()));
            let name = format!("{}/{}", path.file_name().unwrap().to_string_lossy(), v["name"]);
            let case = (name, v["token"].as_str().unwrap().to_owned(), v["expect"].clone());
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, cases)) => cases.push(case),
                None => groups.push((key, vec![case])),
            }
        }
    }
    let dir = TempDir::new("vectors");
    let (mut count, mut failures) = (0, Vec::new());
    for (i, ((policy, now), cases)) in groups.iter().enumerate() {
        let file = dir.write(&format!("policy-{i}.json"), policy);
        let mut args = vec!["verify".to_owned(), "--policy".to_owned(), file];
        if let Some(now) = now {
            args.extend(["--now".to_owned(), now.clone()]);
        }
        args.push("--".to_owned());
        args.extend(cases.iter().map(|(_, token, _)| token.clone()));
        let out = jwtgate(&args, b"");
        count += cases.len();
        if cases.iter().all(|(_, _, expect)| expect["code"] == "policy") {
            if out.code() != 2 {
                failures.push(format!("{}: the policy loaded", cases[0].0));
            }
            continue;
        }
        let lines = out.lines();
        if lines.len() != cases.len() {
            failures.push(format!(
                "{}: {} lines for {} tokens: {}",
                cases[0].0,
                lines.len(),
                cases.len(),
                out.stderr
            ));
            continue;
        }
        for ((name, _, expect), got) in cases.iter().zip(&lines) {
            let agrees = got["valid"] == expect["valid"]
                && (expect["valid"] == true || got["code"] == expect["code"])
                && expect.get("claim").is_none_or(|claim| got.get("claim").unwrap_or(&Value::Null) == claim)
                && expect
                    .get("issuer")
                    .is_none_or(|issuer| got.get("issuer").unwrap_or(&Value::Null) == issuer);
            if !agrees {
                failures.push(format!("{name}: expected {expect}, got {got}"));
            }
        }
    }
    assert!(count > 250, "only {count} vectors");
    assert!(failures.is_empty(), "{} of {count} vectors failed:\n{}", failures.len(), failures.join("\n"));
}
