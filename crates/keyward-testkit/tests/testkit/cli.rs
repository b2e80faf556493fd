//! The `softkey` binary answers Keyward-shaped options (`{"ceremony", "publicKey"}`) from
//! real webauthn-rs ceremonies, keeps its key file, and fails cleanly on bad input.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};
use webauthn_rs::prelude::*;

use crate::common::{ORIGIN, webauthn};

/// Run the binary with `args`, feeding it `stdin`.
fn softkey(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_softkey"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error may exit before reading stdin: a broken pipe here is expected then.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    child.wait_with_output().unwrap()
}

/// A successful run's stdout as JSON.
fn stdout_json(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "softkey failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A failed run's exit code and stderr; checks it failed without panicking.
fn failure(output: &Output) -> (i32, String) {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "unexpected success: {stderr}");
    assert!(output.stdout.is_empty(), "stdout on failure: {output:?}");
    assert!(stderr.starts_with("softkey: "), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    (output.status.code().unwrap(), stderr)
}

/// A fresh, empty directory for one test.
fn scratch(test: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("softkey-cli-{test}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Options as Keyward's options endpoints send them.
fn keyward_options(public_key: &impl serde::Serialize) -> (Uuid, String) {
    let ceremony = Uuid::new_v4();
    let body = json!({ "ceremony": ceremony, "publicKey": public_key });
    (ceremony, body.to_string())
}

/// The key file's credential counters.
fn counters(file: &Path) -> Vec<u64> {
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    saved["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["counter"].as_u64().unwrap())
        .collect()
}

/// The sorted member names of a JSON object.
fn members(value: &Value) -> Vec<&str> {
    let mut names: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort_unstable();
    names
}

/// Register through the binary in a webauthn-rs ceremony; returns the server's credential.
fn cli_register(wa: &Webauthn, file: &str, label: Option<&str>) -> SecurityKey {
    let (ccr, state) = wa
        .start_securitykey_registration(Uuid::new_v4(), "alice", "Alice", None, None, None)
        .unwrap();
    let (ceremony, stdin) = keyward_options(&ccr.public_key);
    let mut args = vec!["register", "--key", file, "--origin", ORIGIN];
    if let Some(label) = label {
        args.extend(["--label", label]);
    }
    let out = stdout_json(&softkey(&args, &stdin));
    assert_eq!(members(&out), ["ceremony", "credential", "label"]);
    assert_eq!(out["ceremony"], ceremony.to_string());
    assert_eq!(out["label"], label.unwrap_or("softkey"));
    let reg: RegisterPublicKeyCredential =
        serde_json::from_value(out["credential"].clone()).unwrap();
    wa.finish_securitykey_registration(&reg, &state).unwrap()
}

/// Authenticate through the binary; returns webauthn-rs's result.
fn cli_assert(wa: &Webauthn, file: &str, creds: &[SecurityKey]) -> AuthenticationResult {
    let (rcr, state) = wa.start_securitykey_authentication(creds).unwrap();
    let (ceremony, stdin) = keyward_options(&rcr.public_key);
    let out = stdout_json(&softkey(
        &["assert", "--key", file, "--origin", ORIGIN],
        &stdin,
    ));
    assert_eq!(members(&out), ["ceremony", "credential"]);
    assert_eq!(out["ceremony"], ceremony.to_string());
    let cred: PublicKeyCredential = serde_json::from_value(out["credential"].clone()).unwrap();
    wa.finish_securitykey_authentication(&cred, &state).unwrap()
}

#[test]
fn cli_register_and_assert_pass_webauthn_rs_ceremonies() {
    let dir = scratch("ceremonies");
    let file = dir.join("alice.key");
    let file_arg = file.to_str().unwrap();
    let wa = webauthn();

    let mut sk = cli_register(&wa, file_arg, Some("Desk key"));
    assert_eq!(counters(&file), [0]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    for expected in 1..=2 {
        let result = cli_assert(&wa, file_arg, std::slice::from_ref(&sk));
        assert_eq!(result.counter(), expected);
        assert_eq!(result.cred_id(), sk.cred_id());
        sk.update_credential(&result);
        assert_eq!(counters(&file), [u64::from(expected)]);
    }

    // A second registration updates the same file; each credential answers for itself.
    let second = cli_register(&wa, file_arg, None);
    assert_eq!(counters(&file), [2, 0]);
    let result = cli_assert(&wa, file_arg, std::slice::from_ref(&second));
    assert_eq!(result.cred_id(), second.cred_id());
    assert_eq!(counters(&file), [2, 1]);
    let result = cli_assert(&wa, file_arg, std::slice::from_ref(&sk));
    assert_eq!(result.counter(), 3);
    assert_eq!(counters(&file), [3, 1]);

    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["alice.key"], "temporary file left behind");
}

#[test]
fn cli_register_refuses_an_excluded_credential_and_keeps_the_file() {
    let dir = scratch("excluded");
    let file = dir.join("k.json");
    let file_arg = file.to_str().unwrap();
    let wa = webauthn();
    let sk = cli_register(&wa, file_arg, None);
    let before = std::fs::read(&file).unwrap();

    let (ccr, _state) = wa
        .start_securitykey_registration(
            Uuid::new_v4(),
            "alice",
            "Alice",
            Some(vec![sk.cred_id().clone()]),
            None,
            None,
        )
        .unwrap();
    let (_, stdin) = keyward_options(&ccr.public_key);
    let out = softkey(&["register", "--key", file_arg, "--origin", ORIGIN], &stdin);
    let (code, stderr) = failure(&out);
    assert_eq!(code, 1);
    assert!(stderr.contains("excludeCredentials"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), before);
}

#[test]
fn cli_reports_bad_input_without_panicking() {
    let dir = scratch("bad-input");
    let missing = dir.join("missing.key");
    let missing = missing.to_str().unwrap();
    let corrupt = dir.join("corrupt.key");
    std::fs::write(&corrupt, "{\"version\": 1}").unwrap();
    let corrupt = corrupt.to_str().unwrap();
    let (_, options) = keyward_options(&json!({"challenge": "AAEC", "rpId": "localhost"}));

    let cases: Vec<(Vec<&str>, &str, i32, &str)> = vec![
        (vec![], "", 2, "missing command"),
        (vec!["sign"], "", 2, "unknown command"),
        (
            vec!["register", "--key", missing],
            "{}",
            2,
            "missing --origin",
        ),
        (vec!["assert", "--origin", ORIGIN], "{}", 2, "missing --key"),
        (
            vec![
                "assert", "--key", missing, "--origin", ORIGIN, "--label", "x",
            ],
            "{}",
            2,
            "unexpected argument",
        ),
        (
            vec![
                "register",
                "--key",
                missing,
                "--origin",
                "http://localhost:8080/",
            ],
            "{}",
            2,
            "not an origin",
        ),
        (vec!["register", "--key"], "", 2, "--key needs a value"),
        (
            vec!["register", "--key", missing, "--origin", ORIGIN],
            "{not json",
            1,
            "stdin is not JSON",
        ),
        (
            vec!["register", "--key", missing, "--origin", ORIGIN],
            "",
            1,
            "stdin is empty",
        ),
        (
            vec!["register", "--key", missing, "--origin", ORIGIN],
            r#"{"error":"unauthenticated"}"#,
            1,
            "unauthenticated",
        ),
        (
            vec!["assert", "--key", missing, "--origin", ORIGIN],
            &options,
            1,
            "no such key file",
        ),
        (
            vec!["register", "--key", corrupt, "--origin", ORIGIN],
            &options,
            1,
            "not a key file",
        ),
    ];
    for (args, stdin, expected_code, expected) in cases {
        let (code, stderr) = failure(&softkey(&args, stdin));
        assert_eq!(code, expected_code, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    assert!(!Path::new(missing).exists());
    assert_eq!(
        std::fs::read_to_string(corrupt).unwrap(),
        "{\"version\": 1}"
    );
}

#[test]
fn cli_assert_fails_cleanly_when_no_credential_matches() {
    let dir = scratch("no-credential");
    let file = dir.join("k.json");
    let file_arg = file.to_str().unwrap();
    let wa = webauthn();
    cli_register(&wa, file_arg, None);
    let (_, stdin) = keyward_options(&json!({
        "challenge": "AAEC",
        "rpId": "localhost",
        "allowCredentials": [{"type": "public-key", "id": "AAAA"}],
    }));
    let (code, stderr) = failure(&softkey(
        &["assert", "--key", file_arg, "--origin", ORIGIN],
        &stdin,
    ));
    assert_eq!(code, 1);
    assert!(stderr.contains("no credential"), "{stderr}");
    assert_eq!(counters(&file), [0]);
}

#[test]
fn cli_help_prints_usage() {
    for args in [&["--help"][..], &["-h"], &["register", "--help"]] {
        let out = softkey(args, "");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("softkey register --key FILE --origin ORIGIN [--label LABEL]"),
            "{text}"
        );
        assert!(text.contains("softkey assert   --key FILE --origin ORIGIN"));
    }
}
