//! A JWKS endpoint the tests control: a real HTTP server on 127.0.0.1 that
//! serves a key set, rotates it, fails, hangs, sends garbage or too much,
//! and counts the requests it answers. It stops when dropped.

#![allow(dead_code)]

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
}

struct Shared {
    jwks: Mutex<Behavior>,
    discovery: Mutex<String>,
    requests: AtomicUsize,
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
            discovery: Mutex::new(String::new()),
            requests: AtomicUsize::new(0),
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
                std::thread::spawn(move || handle(stream, &s));
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

fn handle(mut stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    if shared.stop.load(Ordering::SeqCst) {
        return;
    }
    shared.requests.fetch_add(1, Ordering::SeqCst);
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    if path == "/.well-known/openid-configuration" {
        let body = shared.discovery.lock().unwrap().clone();
        respond(&mut stream, 200, &body, None);
        return;
    }
    let behavior = shared.jwks.lock().unwrap().clone();
    match behavior {
        Behavior::Serve { body, max_age } => respond(&mut stream, 200, &body, max_age),
        Behavior::Slow { body, delay } => {
            std::thread::sleep(delay);
            respond(&mut stream, 200, &body, None);
        }
        Behavior::Status(code) => respond(&mut stream, code, "", None),
        Behavior::Hang(d) => std::thread::sleep(d),
        Behavior::Huge(n) => {
            let body = format!("{{\"keys\":[],\"pad\":\"{}\"}}", "x".repeat(n));
            respond(&mut stream, 200, &body, None);
        }
        Behavior::Drop => {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

fn respond(stream: &mut TcpStream, status: u16, body: &str, max_age: Option<u64>) {
    let cache = max_age.map(|s| format!("Cache-Control: public, max-age={s}\r\n")).unwrap_or_default();
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/jwk-set+json\r\nContent-Length: {}\r\n{cache}Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
}
