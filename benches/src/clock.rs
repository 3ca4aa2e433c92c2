//! The clock the per-algorithm benches read: the benchmark thread's own
//! CPU time by default, wall time on request.
//!
//! The machines these benches run on are shared: other builds take cores
//! away in bursts, and a wall clock charges those pauses to whichever
//! contender happened to be running, which swamps differences of a few
//! percent. A thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) counts only
//! the time the benchmark itself ran, so ops per CPU-second is the
//! per-core throughput and the ratios between contenders hold up under
//! load. Set `JWTGATE_BENCH_CLOCK=wall` for wall time on an idle machine.

use std::time::Instant;

use criterion::Throughput;
use criterion::measurement::{Measurement, ValueFormatter};
use rustix::time::{ClockId, clock_gettime};

/// A criterion measurement in nanoseconds of thread CPU time or wall time.
pub struct BenchClock {
    wall_origin: Option<Instant>,
}

impl BenchClock {
    /// Thread CPU time, unless `JWTGATE_BENCH_CLOCK=wall`.
    pub fn from_env() -> BenchClock {
        let wall = std::env::var("JWTGATE_BENCH_CLOCK").is_ok_and(|v| v == "wall");
        BenchClock { wall_origin: wall.then(Instant::now) }
    }

    /// The name of the clock in use, for reports.
    pub fn name(&self) -> &'static str {
        if self.wall_origin.is_some() { "wall" } else { "thread CPU" }
    }

    fn now_ns(&self) -> u64 {
        match self.wall_origin {
            Some(origin) => origin.elapsed().as_nanos() as u64,
            None => {
                let t = clock_gettime(ClockId::ThreadCPUTime);
                t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
            }
        }
    }
}

impl Measurement for BenchClock {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        self.now_ns()
    }
    fn end(&self, start: u64) -> u64 {
        self.now_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &Nanoseconds
    }
}

/// Formats nanoseconds the way criterion formats wall time.
struct Nanoseconds;

impl ValueFormatter for Nanoseconds {
    fn scale_values(&self, typical_ns: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical_ns < 1e3 {
            (1.0, "ns")
        } else if typical_ns < 1e6 {
            (1e-3, "µs")
        } else if typical_ns < 1e9 {
            (1e-6, "ms")
        } else {
            (1e-9, "s")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }

    fn scale_throughputs(
        &self,
        _typical_ns: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iteration = match *throughput {
            Throughput::Bytes(n)
            | Throughput::BytesDecimal(n)
            | Throughput::Elements(n)
            | Throughput::Bits(n) => n as f64,
        };
        values.iter_mut().for_each(|v| *v = per_iteration * 1e9 / *v);
        "/s"
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}
