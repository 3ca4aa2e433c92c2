//! One AFL entry point for every target: `jwtgate-afl <target>` reads the
//! input on stdin. A broken invariant panics, which AFL records as a crash.

use jwtgate_fuzz::Target;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_default();
    let Some(target) = Target::from_name(&name) else {
        eprintln!("usage: jwtgate-afl <{}>", Target::ALL.map(Target::name).join("|"));
        std::process::exit(2);
    };
    // Build the fixtures once, before AFL's fork server starts.
    let _ = jwtgate_fuzz::fixtures::fixtures();
    afl::fuzz!(|data: &[u8]| {
        if let Err(why) = target.run(data) {
            panic!("{}: {why}", target.name());
        }
    });
}
