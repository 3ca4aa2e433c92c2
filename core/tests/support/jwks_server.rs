//! A JWKS endpoint the tests control: a real HTTP server on 127.0.0.1 that
//! serves a key set, rotates it, fails, hangs, drips, redirects, sends
//! garbage or too much, answers conditional requests, and counts the
//! requests and connections it sees. Paths are percent-decoded and their
//! dot segments resolved before routing, as many real servers do. It stops
//! when dropped.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the server does with the next requests.
#[derive(Clone, Debug)]
pub enum Behavior {
    /// 200 with this body and an optional `Cache-Control: max-age`.
    Serve { body: String, max_age: Option<u64> },
    /// Wait, then serve.
    Slow { body: String, delay: Duration },
    /// Answer with this status and an empty body.
    Status(u16),
    /// Accept and say nothing for this long.
    Hang(Duration),
    /// 200 with this many bytes of JSON-looking padding.
    Huge(usize),
    /// Close the connection without answering.
    Drop,
    /// A redirect (302) to this location.
    Redirect(String),
    /// This status with a `Retry-After` value.
    RetryAfter { status: u16, retry_after: String },
    /// 200 with a full `Content-Length`, then the body one byte per `every`.
    Drip { body: String, every: Duration },
    /// 200 with an `ETag` and a `Last-Modified`; 304 when the request's
    /// `If-None-Match` is that tag or its `If-Modified-Since` that date.
    Tagged { body: String, etag: String, last_modified: String, max_age: Option<u64> },
}

struct Shared {
    jwks: Mutex<Behavior>,
    routes: Mutex<HashMap<String, Behavior>>,
    discovery: Mutex<String>,
    requests: AtomicUsize,
    connections: AtomicUsize,
    not_modified: AtomicUsize,
    keep_alive: AtomicBool,
    by_path: Mutex<HashMap<String, usize>>,
    stop: AtomicBool,
}

pub struct JwksServer {
    pub base: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl JwksServer {
    pub fn start(behavior: Behavior) -> JwksServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let shared = Arc::new(Shared {
            jwks: Mutex::new(behavior),
            routes: Mutex::new(HashMap::new()),
            discovery: Mutex::new(String::new()),
            requests: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
            not_modified: AtomicUsize::new(0),
            keep_alive: AtomicBool::new(false),
            by_path: Mutex::new(HashMap::new()),
            stop: AtomicBool::new(false),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let s = Arc::clone(&s);
                s.connections.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || while handle(&stream, &s) {});
            }
        });
        JwksServer { base, shared, thread: Some(thread) }
    }

    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.base)
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.base)
    }

    /// Serves an OpenID configuration naming `issuer` and this server's JWKS.
    pub fn set_discovery_issuer(&self, issuer: &str) {
        let doc = serde_json::json!({"issuer": issuer, "jwks_uri": self.jwks_url()});
        *self.shared.discovery.lock().unwrap() = doc.to_string();
    }

    pub fn set(&self, behavior: Behavior) {
        *self.shared.jwks.lock().unwrap() = behavior;
    }

    /// Requests answered (or dropped) so far, any path.
    pub fn requests(&self) -> usize {
        self.shared.requests.load(Ordering::SeqCst)
    }

    /// What the server does at `path` (after decoding), instead of the
    /// JWKS behavior.
    pub fn route(&self, path: &str, behavior: Behavior) {
        self.shared.routes.lock().unwrap().insert(path.to_owned(), behavior);
    }

    /// Requests seen for `path` (after decoding and resolving dot segments).
    pub fn requests_to(&self, path: &str) -> usize {
        self.shared.by_path.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// TCP connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// 304 answers sent so far.
    pub fn not_modified(&self) -> usize {
        self.shared.not_modified.load(Ordering::SeqCst)
    }

    /// Keep connections open for further requests (HTTP/1.1 keep-alive).
    pub fn set_keep_alive(&self, on: bool) {
        self.shared.keep_alive.store(on, Ordering::SeqCst);
    }
}

/// The path a lenient server would serve: percent-decoded (so `%2e` is a
/// dot and `%2f` a slash), backslashes as slashes, dot segments resolved.
fn normalize(raw: &str) -> String {
    let raw = raw.split(['?', '#']).next().unwrap_or("/");
    let bytes = raw.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            decoded.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        decoded.push(if bytes[i] == b'\\' { b'/' } else { bytes[i] });
        i += 1;
    }
    let decoded = String::from_utf8_lossy(&decoded).replace('\\', "/");
    let mut out: Vec<&str> = Vec::new();
    for segment in decoded.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.base.trim_start_matches("http://"));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Answers one request; true when the connection stays open for another.
fn handle(stream: &TcpStream, shared: &Shared) -> bool {
    let mut stream = stream;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return false,
        }
    }
    if shared.stop.load(Ordering::SeqCst) {
        return false;
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head).into_owned();
    let request_header = |name: &str| {
        head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    };
    let path = normalize(head.split_whitespace().nth(1).unwrap_or("/"));
    *shared.by_path.lock().unwrap().entry(path.clone()).or_default() += 1;
    let keep = shared.keep_alive.load(Ordering::SeqCst);
    let mut out = Response { stream: &mut stream, keep };
    if path == "/.well-known/openid-configuration" && !shared.routes.lock().unwrap().contains_key(&path) {
        let body = shared.discovery.lock().unwrap().clone();
        out.send(200, &body, &[]);
        return keep;
    }
    let routed = shared.routes.lock().unwrap().get(&path).cloned();
    let behavior = routed.unwrap_or_else(|| shared.jwks.lock().unwrap().clone());
    let cache =
        |max_age: Option<u64>| max_age.map(|s| ("Cache-Control".to_string(), format!("public, max-age={s}")));
    match behavior {
        Behavior::Serve { body, max_age } => {
            out.send(200, &body, &cache(max_age).into_iter().collect::<Vec<_>>())
        }
        Behavior::Slow { body, delay } => {
            std::thread::sleep(delay);
            out.send(200, &body, &[]);
        }
        Behavior::Status(code) => out.send(code, "", &[]),
        Behavior::Hang(d) => {
            std::thread::sleep(d);
            return false;
        }
        Behavior::Huge(n) => {
            let body = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(n));
            out.send(200, &body, &[]);
        }
        Behavior::Drop => {
            let _ = stream.shutdown(Shutdown::Both);
            return false;
        }
        Behavior::Redirect(to) => out.send(302, "", &[("Location".into(), to)]),
        Behavior::RetryAfter { status, retry_after } => {
            out.send(status, "", &[("Retry-After".into(), retry_after)])
        }
        Behavior::Drip { body, every } => {
            let head =
                format!("HTTP/1.1 200 X\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(head.as_bytes());
            for b in body.bytes() {
                std::thread::sleep(every);
                if stream.write_all(&[b]).is_err() {
                    break;
                }
            }
            return false;
        }
        Behavior::Tagged { body, etag, last_modified, max_age } => {
            let mut headers: Vec<(String, String)> = [("ETag", &etag), ("Last-Modified", &last_modified)]
                .into_iter()
                .filter(|(_, v)| !v.is_empty())
                .map(|(n, v)| (n.to_string(), v.clone()))
                .collect();
            headers.extend(cache(max_age));
            let fresh = request_header("if-none-match").is_some_and(|v| !etag.is_empty() && v == etag)
                || request_header("if-modified-since")
                    .is_some_and(|v| !last_modified.is_empty() && v == last_modified);
            if fresh {
                shared.not_modified.fetch_add(1, Ordering::SeqCst);
                out.send(304, "", &headers);
            } else {
                out.send(200, &body, &headers);
            }
        }
    }
    keep
}

struct Response<'a, 'b> {
    stream: &'a mut &'b TcpStream,
    keep: bool,
}

impl Response<'_, '_> {
    fn send(&mut self, status: u16, body: &str, headers: &[(String, String)]) {
        let mut head = format!("HTTP/1.1 {status} X\r\nContent-Type: application/jwk-set+json\r\n");
        if status != 304 {
            head.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(if self.keep { "Connection: keep-alive\r\n\r\n" } else { "Connection: close\r\n\r\n" });
        let _ = self.stream.write_all(head.as_bytes());
        let _ = self.stream.write_all(body.as_bytes());
    }
}
