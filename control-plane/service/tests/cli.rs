//! The `control-plane` command line: help, usage errors, start-up failures that name the flag at
//! fault, and the generated first admin password.

mod common;

use std::process::Command;

use common::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_control-plane"))
}

#[test]
fn help_explains_the_flow_flags_and_exit_codes() {
    let output = bin().arg("--help").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "up",
        "/api/openapi.json",
        "--enroll-token",
        "Exit codes:",
        "RUST_LOG",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    let output = bin().args(["up", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    for needle in [
        "--data",
        "[default: ./control-plane-data]",
        "--listen",
        "[default: 127.0.0.1:7070]",
        "--agent-listen",
        "--agent-url",
        "--auto-approve",
        "--heartbeat-every",
        "[default: 30s]",
        "--admin-password-file",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["up", "--bogus"],
        vec!["up", "--heartbeat-every", "5h"],
        vec!["up", "--listen", "nowhere"],
    ] {
        let output = bin().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn start_up_failures_name_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = bin()
        .arg("up")
        .arg("--data")
        .arg(dir.path())
        .args(["--listen", &addr, "--agent-listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--listen"), "{stderr}");

    let output = bin()
        .arg("up")
        .arg("--data")
        .arg(dir.path())
        .args(["--listen", "127.0.0.1:0", "--agent-listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--agent-url"), "{stderr}");

    let output = bin()
        .arg("up")
        .arg("--data")
        .arg(dir.path())
        .args(["--admin-password-file", "/nonexistent/pw"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("/nonexistent/pw"));
}

#[test]
fn a_generated_first_password_is_written_privately_and_works() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("cp.log");
    let mut child = bin()
        .arg("up")
        .arg("--data")
        .arg(&data)
        .args(["--listen", "127.0.0.1:0", "--agent-listen", "127.0.0.1:0"])
        .env_remove("CONTROL_PLANE_ADMIN_PASSWORD")
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let public = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    let path = data.join("admin-password");
    let password = std::fs::read_to_string(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let response = http()
        .post(format!("{public}/api/login"))
        .json(&serde_json::json!({ "username": "admin", "password": password }))
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !std::fs::read_to_string(&log).unwrap().contains(&password),
        "never logged"
    );
}
