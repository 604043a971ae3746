//! Where the time goes: with `KHARDEN_TIMINGS=1`, each pipeline stage (read
//! and merge, schema check, typed parse, checks, lint, render, emit) records
//! its wall time as `timing: <stage> <ms> ms rss <MiB> MiB` (the resident
//! memory when it ends, on Linux; 0 elsewhere), and `main` prints the lines on
//! stderr when the command is done (`take`). Off by default, and never part of
//! any output file, so goldens and streams stay byte-stable.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

fn on() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("KHARDEN_TIMINGS").is_some_and(|v| v != "0"))
}

/// The lines recorded so far; concerns render on two threads, so a lock.
static LINES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Run `f` as the stage `name`, timing it when timings are on.
pub fn stage<T>(name: &str, f: impl FnOnce() -> T) -> T {
    if !on() {
        return f();
    }
    let t = Instant::now();
    let out = f();
    let line = format!(
        "timing: {name} {:.1} ms rss {} MiB",
        t.elapsed().as_secs_f64() * 1000.0,
        resident_mib()
    );
    // A thread that panicked holding the lock left whole lines behind.
    LINES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .push(line);
    out
}

/// The lines recorded since the last call, in the order the stages ended.
pub fn take() -> Vec<String> {
    std::mem::take(
        &mut *LINES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    )
}

/// Resident memory now, from `/proc/self/statm` (its second field, in pages).
fn resident_mib() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .unwrap_or(0);
    pages * 4096 / (1 << 20)
}
