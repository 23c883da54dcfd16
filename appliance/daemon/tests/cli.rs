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

mod common;

use common::{bin, client, id_of, pattern, put, Daemon, SMALL_DRIVES};

fn run(cmd: &mut Command) -> (Option<i32>, String, String) {
    let out = cmd.output().expect("running the appliance binary");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn format_refuses_a_formatted_set_without_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let format = || {
        let mut cmd = bin();
        cmd.arg("format").arg("--data").arg(&data);
        for (flag, value) in SMALL_DRIVES {
            cmd.args([flag, value]);
        }
        cmd
    };
    let (code, _, err) = run(&mut format());
    assert_eq!(code, Some(0), "first format: {err}");
    let (code, _, err) = run(&mut format());
    assert_eq!(code, Some(3), "second format must refuse: {err}");
    assert!(
        err.contains("--force"),
        "the refusal suggests --force: {err}"
    );
    let (code, _, err) = run(format().arg("--force"));
    assert_eq!(code, Some(0), "format --force: {err}");
}

#[test]
fn up_serves_health_and_stops_cleanly_on_sigterm_keeping_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let daemon = Daemon::start(&data, &[]);
    let health = http.get(daemon.url("/v1/health")).send().unwrap();
    assert_eq!(health.status(), 200);
    let object = pattern(12_345, 1);
    put(&http, &daemon, &object);
    let status = daemon.terminate();
    assert!(status.success(), "SIGTERM exit: {status:?}");

    // A second start opens the set as it is: never reformatted, the object still there.
    let daemon = Daemon::start(&data, &[]);
    let got = http.get(daemon.object(&id_of(&object))).send().unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.bytes().unwrap().as_ref(), &object[..]);
}

#[test]
fn status_and_scrub_work_offline_and_through_a_running_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let daemon = Daemon::start(&data, &[]);
    put(&http, &daemon, &pattern(50_000, 2));

    // The daemon holds the index: the CLI goes through its admin API.
    for sub in ["status", "scrub"] {
        let (code, out, err) = run(bin()
            .arg(sub)
            .arg("--data")
            .arg(&data)
            .args(["--http", &daemon.addr]));
        assert_eq!(code, Some(0), "{sub} through the daemon: {err}");
        assert!(
            err.contains("admin API"),
            "{sub} did not go through the daemon: {err}"
        );
        let report: serde_json::Value = serde_json::from_str(&out).expect("JSON report");
        assert!(report.is_object(), "{sub}: {out}");
    }
    let (code, out, _) = run(bin()
        .arg("status")
        .arg("--data")
        .arg(&data)
        .args(["--http", &daemon.addr]));
    assert_eq!(code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["drives"].as_array().map(Vec::len), Some(6), "{out}");
    assert!(daemon.terminate().success());

    // Stopped: the CLI opens the engine itself.
    for sub in ["status", "scrub"] {
        let (code, out, err) = run(bin().arg(sub).arg("--data").arg(&data));
        assert_eq!(code, Some(0), "{sub} offline: {err}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&out).is_ok(),
            "{sub}: {out}"
        );
    }
}

#[test]
fn status_of_an_unformatted_dir_names_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(bin()
        .arg("status")
        .arg("--data")
        .arg(dir.path().join("none")));
    assert_eq!(code, Some(1));
    assert!(err.contains("appliance format"), "{err}");
}

#[test]
fn ctrl_c_stops_the_daemon_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&dir.path().join("data"), &[]);
    let status = daemon.stop_with(nix::sys::signal::Signal::SIGINT);
    assert!(status.success(), "SIGINT exit: {status:?}");
}

#[test]
fn up_refuses_to_format_explicit_drives() {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("nvme-standin.img");
    std::fs::write(&drive, b"someone's data").unwrap();
    let (code, _, err) = run(bin()
        .arg("up")
        .arg("--data")
        .arg(dir.path().join("data"))
        .arg("--drive")
        .arg(&drive)
        .args(["--http", "127.0.0.1:0"]));
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("appliance format"), "{err}");
    assert_eq!(std::fs::read(&drive).unwrap(), b"someone's data");
}

#[test]
fn offline_status_flags_a_lost_drive_and_rebuild_restores_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let http = client();
    let object = pattern(400_000, 6);
    let daemon = Daemon::start(&data, &[]);
    put(&http, &daemon, &object);
    assert!(daemon.terminate().success());
    std::fs::remove_file(data.join("drives").join("drive-2.img")).unwrap();

    let (code, out, err) = run(bin().arg("status").arg("--data").arg(&data));
    assert_eq!(code, Some(4), "status with a lost drive: {err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["drives"][2]["online"], false, "{out}");

    let (code, out, err) = run(bin().args(["rebuild", "2", "--data"]).arg(&data));
    assert_eq!(code, Some(0), "rebuild: {err}");
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(report["shards"].as_u64().unwrap() >= 1, "{out}");

    let (code, _, err) = run(bin().arg("status").arg("--data").arg(&data));
    assert_eq!(code, Some(0), "status after rebuild: {err}");
    let daemon = Daemon::start(&data, &[]);
    assert!(common::get(&http, &daemon, &id_of(&object)) == object);
}
