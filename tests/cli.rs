//! The `callbox` command line as an admin meets it: `version`, `check-config` on a
//! good and a bad file (the key, the line and exit code 2), unknown commands.

use std::process::Command;

fn callbox(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_callbox"))
        .args(args)
        .output()
        .expect("callbox runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn version_prints_the_package_version() {
    let (code, out, _) = callbox(&["version"]);
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("callbox {}", env!("CARGO_PKG_VERSION")));
}

#[test]
fn check_config_accepts_a_good_file_and_names_the_bad_key_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        "data_dir = \"/tmp/x\"\n[sip]\nlisten = \"127.0.0.1:5060\"\n",
    )
    .unwrap();
    let (code, out, err) = callbox(&["check-config", "--config", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ok"), "{out}");

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "data_dir = \"/tmp/x\"\n\n[rtp]\nport_min = 20000\nport_maxx = 30000\n",
    )
    .unwrap();
    let (code, _, err) = callbox(&["check-config", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "a bad config exits 2: {err}");
    assert!(
        err.contains(":5:") && err.contains("port_maxx"),
        "names the line and the key: {err}"
    );

    let (code, _, err) = callbox(&["serve", "--config", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "serve refuses to start on it too: {err}");
}

#[test]
fn unknown_commands_and_missing_files_are_clear_errors() {
    let (code, _, err) = callbox(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown command") && err.contains("usage"),
        "{err}"
    );
    let (code, _, err) = callbox(&["check-config", "--config", "/nonexistent/callbox.toml"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/callbox.toml"), "{err}");
}
