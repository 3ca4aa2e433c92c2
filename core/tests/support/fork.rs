//! Child processes forked from a test, for what must hold after fork():
//! a verifier or replay store used in the child as in the parent.

use std::io::Write;

/// Runs `body` in a forked child that exits 0 when it returns `Ok` (and
/// prints `child <name>: <why>` otherwise); returns the child's pid.
pub fn in_child(name: &str, body: impl FnOnce() -> Result<(), String>) -> libc::pid_t {
    // SAFETY: the child only runs `body` and then `_exit`s, never returning
    // into the test harness.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let status = match body() {
            Ok(()) => 0,
            Err(why) => {
                let _ = writeln!(std::io::stderr(), "child {name}: {why}");
                1
            }
        };
        // SAFETY: ends the child without running the parent's atexit state.
        unsafe { libc::_exit(status) };
    }
    pid
}

/// Waits for child `pid`; true when it exited with status 0.
pub fn wait_ok(pid: libc::pid_t) -> bool {
    let mut status = 0;
    // SAFETY: waits for a child this test forked.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    waited == pid && libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}
