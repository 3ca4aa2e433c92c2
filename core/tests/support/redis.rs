//! A `redis-server` on 127.0.0.1 that a test or bench starts and stops:
//! the replay store DPoP proofs are checked against across processes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server` (no persistence); killed when dropped.
pub struct RedisServer {
    child: Child,
    pub port: u16,
}

impl RedisServer {
    /// Starts one on `port` (a free one when `None`) and waits until it
    /// answers PING. Panics when `redis-server` is missing or silent.
    pub fn start(port: Option<u16>) -> RedisServer {
        Self::try_start(port)
            .expect("redis-server did not start (apt-get install redis-server, or JWTGATE_SKIP_REDIS=1)")
    }

    /// As `start`, or `None` when `redis-server` is missing or does not
    /// answer within ten seconds.
    pub fn try_start(port: Option<u16>) -> Option<RedisServer> {
        let port = match port {
            Some(port) => port,
            None => TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port(),
        };
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", std::env::temp_dir().to_str()?])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let server = RedisServer { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !pong(port) {
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(server)
    }

    /// The URL a policy's `replay_store` names.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Kills the server and waits until its port refuses connections.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether a Redis on `port` answers PING (inline command) with PONG.
fn pong(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
    let mut answer = [0u8; 7];
    stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut answer).is_ok() && &answer == b"+PONG\r\n"
}
