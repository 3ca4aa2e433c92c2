"""Stopping the processes a test or bench started."""
import subprocess


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL if `proc` has not exited after `timeout`
    seconds; returns once it has exited."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
