//! The command runner: argument order, a clean environment, output capture,
//! exit codes and the timeout. The cargofox binary itself is only built, not
//! run; `sh` stands in for it.

use std::ffi::OsStr;
use std::time::Duration;

use crate::harness::{Cargofox, temp_dir};

fn sh(script: &str) -> Cargofox {
    Cargofox::with_program("/bin/sh").args(["-c", script])
}

#[test]
fn cargofox_command_puts_global_options_first() {
    let data = temp_dir();
    let cmd = Cargofox::new()
        .sync(&["serde@1.0.0", "syn"])
        .data(data.path())
        .registry("http://127.0.0.1:1/index/")
        .verbose()
        .command();
    assert_eq!(cmd.get_program(), OsStr::new(env!("CARGO_BIN_EXE_cargofox")));
    let args: Vec<_> = cmd.get_args().map(|a| a.to_str().unwrap()).collect();
    let data = data.path().to_str().unwrap();
    assert_eq!(
        args,
        [
            "--data",
            data,
            "--registry",
            "http://127.0.0.1:1/index/",
            "-v",
            "sync",
            "serde@1.0.0",
            "syn"
        ]
    );
    let envs: Vec<_> = cmd.get_envs().collect();
    for proxy in [
        "http_proxy",
        "https_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "all_proxy",
    ] {
        assert!(envs.contains(&(OsStr::new(proxy), None)), "{proxy} not removed");
    }
    assert!(envs.contains(&(OsStr::new("NO_PROXY"), Some(OsStr::new("127.0.0.1,localhost")))));
}

#[test]
fn captures_output_and_exit_code() {
    let out = sh("echo out; echo err >&2; exit 3").run();
    out.assert_code(3)
        .assert_stdout_eq("out\n")
        .assert_stderr_contains("err");
    assert!(!out.timed_out);
    sh("true").run().assert_success();
}

#[test]
fn child_environment_is_clean_and_cwd_is_fresh() {
    let out = sh("env; echo cwd=$(pwd)")
        .env("EXTRA", "1")
        .env("https_proxy", "set-by-test")
        .run();
    out.assert_success()
        .assert_stdout_contains("\nNO_PROXY=127.0.0.1,localhost\n")
        .assert_stdout_contains("\nEXTRA=1\n")
        .assert_stdout_contains("\nGIT_CONFIG_NOSYSTEM=1\n")
        // Explicit test settings win over the defaults.
        .assert_stdout_contains("\nhttps_proxy=set-by-test\n");
    for line in out.stdout.lines() {
        assert!(
            !line.starts_with("http_proxy=") && !line.starts_with("CARGOFOX_DATA="),
            "{line}"
        );
    }
    let cwd = out.stdout.lines().find_map(|l| l.strip_prefix("cwd=")).unwrap();
    assert_ne!(std::path::Path::new(cwd), std::env::current_dir().unwrap());

    let dir = temp_dir();
    let out = sh("pwd").current_dir(dir.path()).run();
    assert_eq!(out.stdout.trim(), dir.path().canonicalize().unwrap().to_str().unwrap());
}

#[test]
fn timeout_kills_the_whole_process_group() {
    // The background sleep keeps stdout open: only a group kill lets us return.
    let out = sh("echo started; sleep 30 & sleep 30")
        .timeout(Duration::from_millis(300))
        .run_allow_timeout();
    assert!(out.timed_out);
    assert_eq!(out.code, None);
    assert_eq!(out.stdout, "started\n");
    assert!(out.elapsed < Duration::from_secs(5), "{out}");
}

#[test]
#[should_panic(expected = "timed out")]
fn run_panics_on_timeout() {
    sh("sleep 30").timeout(Duration::from_millis(100)).run();
}

#[test]
#[should_panic(expected = "unexpected exit status")]
fn failed_assertions_panic() {
    sh("exit 1").run().assert_success();
}
