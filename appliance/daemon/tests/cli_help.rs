//! `appliance --help` documents every subcommand, flag default and exit code.

use std::process::Command;

fn appliance(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_appliance"))
        .args(args)
        .output()
        .expect("running the appliance binary")
}

#[test]
fn help_lists_subcommands_and_exit_codes() {
    let out = appliance(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "up",
        "format",
        "status",
        "scrub",
        "rebuild",
        "Exit codes:",
        "RUST_LOG",
    ] {
        assert!(text.contains(word), "--help lacks {word:?}:\n{text}");
    }
}

#[test]
fn up_help_shows_each_default() {
    let out = appliance(&["up", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "--data <DIR>",
        "./appliance-data",
        "--http <ADDR>",
        "127.0.0.1:8080",
        "--drive <PATH>",
        "six sparse file drives",
    ] {
        assert!(text.contains(word), "up --help lacks {word:?}:\n{text}");
    }
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = appliance(&["up", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stderr).unwrap();
    assert!(text.contains("--no-such-flag"), "{text}");
}
