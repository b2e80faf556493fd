//! `keyward audit`: verify finds a tampered entry (exit 2), export prints
//! the chain as JSON lines that can be re-checked, and signed checkpoints
//! are made, exported and checked against the log.

use serde_json::{Value, json};

use super::Cli;
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::on_db;

backend_tests!(
    audit_verify_exits_2_after_tampering,
    audit_export_prints_the_chain_as_json_lines,
    audit_checkpoints_are_signed_exported_and_checked,
);

async fn audit_verify_exits_2_after_tampering(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    app.enrolled("cliaudit1").await;
    cli.says("audit verify", "intact: 2 entries").await;
    let db = &app.state.db;
    on_db!(db, c => sqlx::query("UPDATE audit_log SET detail = '{\"username\":\"mallory\"}' WHERE seq = 1")
        .execute(c).await.unwrap().rows_affected());
    let out = cli.exits("audit verify", 2).await;
    assert!(out.contains("BROKEN at entry 1"), "{out}");
}

async fn audit_export_prints_the_chain_as_json_lines(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let u = app.enrolled("cliaudit2").await;
    cli.exits("withdrawals freeze --reason drill", 0).await;
    let export = cli.exits("audit export", 0).await;
    let lines: Vec<Value> = export
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = lines.iter().map(|l| l["event"].as_str().unwrap()).collect();
    assert_eq!(
        events,
        ["account.created", "key.enrolled", "withdrawals.frozen"]
    );
    assert_eq!(lines[0]["user_id"], u.user_id.to_string());
    assert_eq!(
        lines[0]["detail"],
        json!({ "username": "cliaudit2" }),
        "parsed JSON"
    );
    assert_eq!(lines[0]["prev_hash"], "0".repeat(64));
    assert!(lines[0]["at"].as_str().unwrap().ends_with('Z'), "RFC 3339");
    for (i, pair) in lines.windows(2).enumerate() {
        assert_eq!(pair[0]["seq"], i + 1);
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "the chain can be re-checked"
        );
    }

    let since = lines[2]["at"].as_str().unwrap();
    let tail = cli.exits(&format!("audit export --since {since}"), 0).await;
    let last: Value = serde_json::from_str(tail.lines().last().unwrap()).unwrap();
    assert_eq!(last["seq"], 3);
    assert_eq!(
        cli.exits("audit export --since 2999-01-01T00:00:00Z", 0)
            .await,
        ""
    );
    cli.exits("audit export --since yesterday", 1).await;
}

async fn audit_checkpoints_are_signed_exported_and_checked(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let mut u = app.enrolled("cliaudit").await;
    app.sign_in(&mut u).await;
    let made = cli.says("audit checkpoint", "\"seq\":3").await;
    assert!(made.contains("\"token\""), "{made}");
    let exported = cli.exits("audit checkpoints", 0).await;
    let file = app.state.config.data_dir.join("checkpoints.jsonl");
    std::fs::write(&file, &exported).unwrap();
    let verify = format!("audit verify --checkpoints {}", file.display());
    cli.says(&verify, "matches 1 signed checkpoints").await;

    let db = &app.state.db;
    on_db!(db, c => sqlx::query("UPDATE audit_log SET detail = '{}' WHERE seq = 2")
        .execute(c).await.unwrap().rows_affected());
    crate::audit_checkpoints::rehash_from(&app, 2).await;
    cli.says("audit verify", "intact").await;
    let out = cli.exits(&verify, 2).await;
    assert!(out.contains("DIFFERS from checkpoint of entry 3"), "{out}");
}
