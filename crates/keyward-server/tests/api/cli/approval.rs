//! `keyward approval verify`: a real approval re-verifies offline, and each
//! kind of tampering with the stored row is named; an export verifies on
//! its own, as keyward-client verifies it.

use crate::on_db;
use keyward_server::Db;
use keyward_server::store::step_ups;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{Cli, code, show, stderr, stdout};
use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp};

backend_tests!(
    approval_verify_checks_a_real_approval,
    an_export_verifies_offline_as_the_client_does,
);

/// Sets a step-up's stored details, digest and evidence.
async fn set_step_up(db: &Db, id: Uuid, details: &str, digest: &str, evidence: &str) {
    on_db!(db, c => sqlx::query("UPDATE step_ups SET details = $1, digest = $2, evidence = $3 WHERE id = $4")
        .bind(details).bind(digest).bind(evidence).bind(id).execute(c).await.unwrap().rows_affected());
}

async fn approval_verify_checks_a_real_approval(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let mut u = app.enrolled("cliappr1").await;
    let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold wallet" });
    let (status, body) = app.post(&u.browser, "/v1/addresses", add).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let id_text = body["step_up"]["id"].as_str().unwrap().to_owned();
    let (status, body) = app.approve(&mut u, &id_text, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id: Uuid = id_text.parse().unwrap();
    let db = &app.state.db;
    let row = step_ups::get(db, id).await.unwrap().unwrap();
    let evidence = row.evidence.clone().unwrap();

    let verify = format!("approval verify {id}");
    let out = cli.says(&verify, "VALID: the approval verifies").await;
    assert!(out.contains("  key ") && !out.contains("skipped"), "{out}");
    let expect_invalid = |check: &'static str| {
        let verify = verify.clone();
        let cli = &cli;
        async move {
            let out = cli.exits(&verify, 3).await;
            assert!(out.contains(&format!("INVALID: {check}")), "{check}: {out}");
        }
    };
    // Details edited: they no longer hash to the digest.
    let edited = row.details.replace("cold wallet", "hot wallet");
    set_step_up(db, id, &edited, &row.digest, &evidence).await;
    expect_invalid("digest").await;
    // Details and digest edited together: the signature no longer covers them.
    let digest = hex::encode(Sha256::digest(edited.as_bytes()));
    set_step_up(db, id, &edited, &digest, &evidence).await;
    expect_invalid("signature: challenge_mismatch").await;
    // Evidence signature edited (a middle character: whole bits).
    let mut ev: Value = serde_json::from_str(&evidence).unwrap();
    let sig = ev["signature"].as_str().unwrap().to_owned();
    let flipped = if &sig[20..21] == "A" { "B" } else { "A" };
    ev["signature"] = json!(format!("{}{flipped}{}", &sig[..20], &sig[21..]));
    set_step_up(db, id, &row.details, &row.digest, &ev.to_string()).await;
    expect_invalid("signature").await;
    set_step_up(db, id, &row.details, &row.digest, "{not json").await;
    expect_invalid("evidence").await;
    set_step_up(db, id, &row.details, &row.digest, &evidence).await;
    cli.says(&verify, "VALID").await;

    // Verified against another origin, the same evidence fails.
    let args = ["approval", "verify", id_text.as_str()];
    let out = cli
        .run_with(&args, &[("KEYWARD_ORIGIN", "https://evil.example")])
        .await;
    assert_eq!(code(&out), 3, "{}", show(&out));
    assert!(
        stdout(&out).contains("INVALID: signature: origin_mismatch"),
        "{}",
        show(&out)
    );
    // The approving key's row swapped for another key, or removed: the key
    // history still holds the key that approved, so it still verifies.
    let v = app.enrolled("cliappr2").await;
    let (foreign_id, foreign): (Uuid, String) = on_db!(db, c => sqlx::query_as(
        "SELECT id, key_json FROM credentials WHERE user_id = $1")
        .bind(v.user_id).fetch_one(c).await.unwrap());
    let approver = row.credential_key_id.unwrap();
    on_db!(db, c => sqlx::query("UPDATE credentials SET key_json = $1 WHERE id = $2")
        .bind(&foreign).bind(approver).execute(c).await.unwrap().rows_affected());
    cli.says(&verify, "VALID").await;
    on_db!(db, c => sqlx::query("DELETE FROM credentials WHERE id = $1")
        .bind(approver).execute(c).await.unwrap().rows_affected());
    cli.says(&verify, "VALID").await;
    // The history itself cannot be rewritten or shortened.
    let rewrite = on_db!(db, c => sqlx::query("UPDATE key_history SET key_json = $1 WHERE key_id = $2")
        .bind(&foreign).bind(approver).execute(c).await.map(|r| r.rows_affected()));
    assert!(rewrite.is_err(), "key_history must be append-only");
    let delete = on_db!(db, c => sqlx::query("DELETE FROM key_history WHERE key_id = $1")
        .bind(approver).execute(c).await.map(|r| r.rows_affected()));
    assert!(delete.is_err(), "key_history must be append-only");
    // The approval made to name another user's key: INVALID.
    let set_approver = |key: Uuid| async move {
        on_db!(db, c => sqlx::query("UPDATE step_ups SET credential_key_id = $1 WHERE id = $2")
            .bind(key).bind(id).execute(c).await.unwrap().rows_affected());
    };
    set_approver(foreign_id).await;
    expect_invalid("key").await;
    // A key Keyward never enrolled: it cannot be checked, so UNVERIFIED
    // (exit 4) — before, this printed VALID with the key check skipped.
    set_approver(Uuid::new_v4()).await;
    let out = cli.exits(&verify, 4).await;
    assert!(out.contains("UNVERIFIED: key"), "{out}");
    assert!(!out.contains("VALID: the approval verifies"), "{out}");
    set_approver(approver).await;

    // Errors, not verdicts: unknown, malformed, never approved.
    cli.exits(&format!("approval verify {}", Uuid::new_v4()), 1)
        .await;
    cli.exits("approval verify not-a-uuid", 1).await;
    let add = json!({ "network": "bitcoin", "address": "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "label": "x" });
    let (status, body) = app.post(&u.browser, "/v1/addresses", add).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let pending = body["step_up"]["id"].as_str().unwrap();
    let out = cli.run(&["approval", "verify", pending]).await;
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(stderr(&out).contains("never approved"), "{}", show(&out));
}

/// `approval verify --file F` with more arguments: exit code, stdout, all.
async fn verify_file(cli: &Cli, file: &std::path::Path, more: &[&str]) -> (i32, String, String) {
    let mut args = vec!["approval", "verify", "--file", file.to_str().unwrap()];
    args.extend_from_slice(more);
    let out = cli.run_with(&args, &[]).await;
    (code(&out), stdout(&out), show(&out))
}

/// `approval export` then `approval verify --file` on it: the client's
/// checks, offline, with the exchange's own details and pin.
async fn an_export_verifies_offline_as_the_client_does(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let mut u = app.enrolled("cliexp1").await;
    let add = json!({ "network": "bitcoin", "address": DEST, "label": "cold wallet" });
    let (_, body) = app.post(&u.browser, "/v1/addresses", add.clone()).await;
    let id = body["step_up"]["id"].as_str().unwrap().to_owned();
    let (status, body) = app.approve(&mut u, &id, &Forge::default()).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let out = cli.run_with(&["approval", "export", &id], &[]).await;
    assert_eq!(code(&out), 0, "{}", show(&out));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("approval.json");
    std::fs::write(&file, stdout(&out)).unwrap();
    let (asked, pin) = (dir.path().join("asked.json"), dir.path().join("pin.json"));
    std::fs::write(&asked, add.to_string()).unwrap();
    let with_details = ["--details", asked.to_str().unwrap()];
    let with_pin = ["--pin", pin.to_str().unwrap()];

    let (exit, text, all) = verify_file(&cli, &file, &with_details).await;
    assert_eq!(exit, 0, "{all}");
    assert!(text.contains("VALID: the approval verifies"), "{all}");
    let pin_line = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("pin now: "))
        .unwrap()
        .to_owned();
    std::fs::write(&pin, &pin_line).unwrap();
    let (exit, text, all) = verify_file(&cli, &file, &with_pin).await;
    assert_eq!(exit, 0, "{all}");
    assert!(text.contains("following your pin"), "{all}");

    // Other details than the ones asked for: refused.
    let other = json!({ "network": "bitcoin", "address": DEST, "label": "hot wallet" });
    std::fs::write(&asked, other.to_string()).unwrap();
    let (exit, text, all) = verify_file(&cli, &file, &with_details).await;
    assert_eq!(exit, 3, "{all}");
    assert!(text.contains("INVALID: details_differ"), "{all}");
    // A pin of another chain: the restart is reported, not followed.
    let mut foreign: Value = serde_json::from_str(&pin_line).unwrap();
    foreign["genesis"] = json!("00".repeat(32));
    std::fs::write(&pin, foreign.to_string()).unwrap();
    let (exit, text, all) = verify_file(&cli, &file, &with_pin).await;
    assert_eq!(exit, 3, "{all}");
    assert!(text.contains("INVALID: chain_restarted"), "{all}");
    // Neither an id nor a file: a usage error, not a verdict.
    let out = cli.run_with(&["approval", "verify"], &[]).await;
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(stderr(&out).contains("give a step-up id"), "{}", show(&out));
}
