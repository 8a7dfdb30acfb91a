//! `cargofox::lockfile::parse` on arbitrary bytes (a `Cargo.lock` comes
//! from whoever wrote the project). Checked on every input: no panic, the
//! same answer twice, a version from 1 to 4 and line numbers within the
//! file; an error's message quotes the input only through `sanitize`, so it
//! holds no control, invisible or bidirectional character and can be
//! printed to a terminal; `sanitize` itself keeps that promise.

#![no_main]

use cargofox::lockfile::{parse, sanitize};
use cargofox::report::escape::visible;
use libfuzzer_sys::fuzz_target;

fn terminal_safe(s: &str) -> bool {
    !s.chars().any(char::is_control) && !visible(s).1
}

fuzz_target!(|data: &[u8]| {
    let lines = data.iter().filter(|&&b| b == b'\n').count() + 1;
    let first = parse(data);
    assert_eq!(first, parse(data), "not deterministic");
    match first {
        Ok(lock) => {
            assert!((1..=4).contains(&lock.version), "version {}", lock.version);
            for p in &lock.packages {
                assert!((1..=lines).contains(&p.line), "line {} of {lines}", p.line);
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(terminal_safe(&msg), "{msg:?}");
        }
    }
    let s = String::from_utf8_lossy(data);
    let clean = sanitize(&s);
    assert!(terminal_safe(&clean), "sanitize({s:?}) = {clean:?}");
});
