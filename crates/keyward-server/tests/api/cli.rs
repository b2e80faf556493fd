//! The `keyward` command line, run as a process against a real database:
//! the one a test server uses (its SQLite file, or its PostgreSQL schema), so
//! what the CLI changes is checked through the HTTP API and the store.

use std::path::PathBuf;
use std::process::Output;

use keyward_access::token::{TokenKind, parse};
use keyward_server::Db;
use keyward_server::on_db;
use keyward_server::store::{service_keys, signing_keys, step_ups};
use keyward_testkit::Forge;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::backend_tests;
use crate::helpers::{Backend, DEST, TestApp, assert_problem};

backend_tests!(
    service_key_create_authenticates_and_revoke_disables,
    service_key_create_refuses_unknown_scopes_and_bad_names,
    signing_key_rotate_retires_the_active_key,
    withdrawals_freeze_status_unfreeze_round_trip,
    user_lock_blocks_sign_in_until_unlocked,
    audit_verify_exits_2_after_tampering,
    audit_export_prints_the_chain_as_json_lines,
    approval_verify_checks_a_real_approval,
);

/// Runs the `keyward` binary against a test server's database.
struct Cli {
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Cli {
    async fn for_app(app: &TestApp) -> Self {
        let dir = app.state.config.data_dir.clone();
        let mut env = vec![
            ("KEYWARD_DATA_DIR".to_owned(), dir.display().to_string()),
            ("KEYWARD_ORIGIN".to_owned(), app.origin.clone()),
        ];
        if let (Some(url), Db::Postgres(pool)) = (&app.state.config.database_url, &app.state.db) {
            // The CLI uses the database's default search path: aim it at the
            // test's own schema.
            let schema: String = sqlx::query_scalar("SELECT current_schema()")
                .fetch_one(pool)
                .await
                .unwrap();
            let sep = if url.contains('?') { '&' } else { '?' };
            let url = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            env.push(("KEYWARD_DATABASE_URL".to_owned(), url));
        }
        Self { env, dir }
    }

    async fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, &[]).await
    }

    /// Runs with extra environment variables (overriding the defaults).
    async fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_keyward"));
        cmd.args(args).current_dir(&self.dir);
        for (name, _) in std::env::vars().filter(|(n, _)| n.starts_with("KEYWARD_")) {
            cmd.env_remove(name);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        cmd.envs(extra.iter().copied());
        tokio::task::spawn_blocking(move || cmd.output().unwrap())
            .await
            .unwrap()
    }

    /// Runs `line`, split on whitespace.
    async fn line(&self, line: &str) -> Output {
        self.run(&line.split_whitespace().collect::<Vec<_>>()).await
    }

    /// Runs `line` (split on whitespace); returns stdout after checking
    /// the exit code.
    async fn exits(&self, line: &str, expected: i32) -> String {
        let out = self.line(line).await;
        assert_eq!(code(&out), expected, "{line}: {}", show(&out));
        stdout(&out)
    }

    /// Runs `line`, expects exit 0 and `needle` in stdout; returns stdout.
    async fn says(&self, line: &str, needle: &str) -> String {
        let out = self.exits(line, 0).await;
        assert!(out.contains(needle), "{line}: expected {needle:?} in {out}");
        out
    }
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

fn show(out: &Output) -> String {
    format!("stdout: {}\nstderr: {}", stdout(out), stderr(out))
}

/// Events in the audit log, in order, with their details.
async fn events(db: &Db) -> Vec<(String, Value)> {
    let rows: Vec<(String, String)> = on_db!(db, c => sqlx::query_as(
        "SELECT event, detail FROM audit_log ORDER BY seq").fetch_all(c).await.unwrap());
    rows.into_iter()
        .map(|(e, d)| (e, serde_json::from_str(&d).unwrap()))
        .collect()
}

async fn service_key_create_authenticates_and_revoke_disables(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let out = cli
        .line("service-key create --name exchange-core --scopes admin,stepup:read")
        .await;
    assert_eq!(code(&out), 0, "{}", show(&out));
    let token = stdout(&out).trim().to_owned();
    assert!(
        token.starts_with("kw_svc_") && !token.contains('\n'),
        "{token}"
    );
    assert!(stderr(&out).contains("shown only once"), "{}", show(&out));

    let hash = parse(TokenKind::Service, &token).unwrap();
    let db = &app.state.db;
    let row = service_keys::by_hash(db, hash.as_bytes())
        .await
        .unwrap()
        .expect("token stored");
    assert_eq!(
        (row.name.as_str(), row.scopes.as_str()),
        ("exchange-core", "admin stepup:read")
    );
    let id = row.id.to_string();
    assert!(
        stderr(&out).contains(&id),
        "the id is shown: {}",
        show(&out)
    );
    let service = app.service(&token);
    let (status, body) = app.get(&service, "/v1/admin/withdrawals").await;
    assert_eq!(status, StatusCode::OK, "the token authenticates: {body}");

    let list = cli.says("service-key list", &row.prefix).await;
    assert!(
        list.contains(&id) && list.contains("admin,stepup:read"),
        "{list}"
    );
    assert!(
        !list.contains(&token[row.prefix.len()..]),
        "never the secret"
    );

    cli.says(&format!("service-key revoke {id}"), "revoked")
        .await;
    assert!(
        service_keys::by_hash(db, hash.as_bytes())
            .await
            .unwrap()
            .is_none()
    );
    // Revoked by another process: refused on this instance within a second
    // (its cache drops the key when the shared epoch moves).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let (status, _) = app.get(&service, "/v1/admin/withdrawals").await;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "revoked key still accepted after 1 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    cli.says(&format!("service-key revoke {id}"), "already revoked")
        .await;
    cli.exits(&format!("service-key revoke {}", Uuid::new_v4()), 1)
        .await;
    cli.exits("service-key revoke nope", 1).await;
    let list = cli.exits("service-key list", 0).await;
    let line = list.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(!line.ends_with('-'), "shows when it was revoked: {list}");

    let logged = events(db).await;
    let names: Vec<&str> = logged.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["service_key.created", "service_key.revoked"]);
    assert!(
        !format!("{logged:?}").contains(&token),
        "no token in the audit log"
    );
}

async fn service_key_create_refuses_unknown_scopes_and_bad_names(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let out = cli
        .line("service-key create --name x --scopes admin,stepup:nuke")
        .await;
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(
        stderr(&out).contains("stepup:nuke"),
        "names the scope: {}",
        show(&out)
    );
    assert!(!stdout(&out).contains("kw_svc_"), "no token printed");
    let long = "n".repeat(65);
    for (name, scopes) in [("", "admin"), (long.as_str(), "admin"), ("ok", ",")] {
        let out = cli
            .run(&["service-key", "create", "--name", name, "--scopes", scopes])
            .await;
        assert_eq!(code(&out), 1, "{name:?} {scopes:?}: {}", show(&out));
    }
    assert!(service_keys::list(&app.state.db).await.unwrap().is_empty());
}

async fn signing_key_rotate_retires_the_active_key(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let db = &app.state.db;
    let before = signing_keys::active(db).await.unwrap().unwrap().kid;
    let out = cli
        .says("signing-key rotate", &format!("retired: {before}"))
        .await;
    let after = signing_keys::active(db).await.unwrap().unwrap().kid;
    assert_ne!(before, after);
    assert!(out.contains(&format!("new signing key: {after}")), "{out}");

    let list = cli.exits("signing-key list", 0).await;
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 3, "header and two keys: {list}");
    assert!(
        lines[1].starts_with(&after) && lines[1].ends_with("active"),
        "{list}"
    );
    assert!(
        lines[2].starts_with(&before) && lines[2].ends_with("retired"),
        "{list}"
    );
    for key in signing_keys::list(db).await.unwrap() {
        let private = hex::encode(&key.private_key);
        assert!(
            !list.contains(&private[private.len() - 16..]),
            "no private material"
        );
    }
    let (_, jwks) = app.get(&app.browser(), "/.well-known/jwks.json").await;
    let kids: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["kid"])
        .collect();
    assert!(
        kids.contains(&&json!(before)) && kids.contains(&&json!(after)),
        "{jwks}"
    );
}

async fn withdrawals_freeze_status_unfreeze_round_trip(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let admin = app.service(&app.service_key(&["admin"]).await);
    cli.says("withdrawals status", "frozen:  no").await;

    let out = cli
        .run(&["withdrawals", "freeze", "--reason", "incident 7"])
        .await;
    assert!(
        stdout(&out).contains("withdrawals frozen: incident 7"),
        "{}",
        show(&out)
    );
    let status = cli.says("withdrawals status", "frozen:  yes").await;
    assert!(status.contains("reason:  incident 7"), "{status}");
    let (_, body) = app.get(&admin, "/v1/admin/withdrawals").await;
    assert_eq!(
        (&body["frozen"], &body["reason"]),
        (&json!(true), &json!("incident 7"))
    );
    let again = cli
        .says("withdrawals freeze --reason other", "already frozen")
        .await;
    assert!(
        again.contains("incident 7"),
        "the first reason stands: {again}"
    );

    cli.says("withdrawals unfreeze", "withdrawals unfrozen")
        .await;
    cli.says("withdrawals status", "frozen:  no").await;
    let (_, body) = app.get(&admin, "/v1/admin/withdrawals").await;
    assert_eq!(body["frozen"], false);
    let blank = cli.run(&["withdrawals", "freeze", "--reason", "  "]).await;
    assert_eq!(code(&blank), 1);

    let frozen = json!({ "reason": "incident 7", "by": "cli" });
    let unfrozen = json!({ "reason": null, "by": "cli" });
    assert_eq!(
        events(&app.state.db).await,
        [
            ("withdrawals.frozen".into(), frozen),
            ("withdrawals.unfrozen".into(), unfrozen)
        ]
    );
    cli.says("audit verify", "intact: 2 entries").await;
}

async fn user_lock_blocks_sign_in_until_unlocked(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let mut u = app.enrolled("cliuser1").await;
    let shown = cli.says("user show CliUser1", &u.user_id.to_string()).await;
    assert!(
        shown.contains("keys:     1") && shown.contains("locked:   no"),
        "{shown}"
    );

    cli.says("user lock CliUser1", "account CliUser1 locked")
        .await;
    let body = json!({ "username": u.username, "password": u.password });
    let refused = app.post(&app.browser(), "/v1/signin/password", body).await;
    assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "account-locked");
    cli.says("user show cliuser1", "locked:   yes").await;
    cli.says("user lock cliuser1", "already locked").await;

    cli.says("user unlock cliuser1", "account cliuser1 unlocked")
        .await;
    app.sign_in(&mut u).await;
    cli.says("user unlock cliuser1", "nothing changed").await;
    for line in ["user lock nobody", "user show nobody", "user unlock x"] {
        cli.exits(line, 1).await;
    }

    let by_cli = json!({ "by": "cli" });
    let locks: Vec<(String, Value)> = events(&app.state.db)
        .await
        .into_iter()
        .filter(|(e, _)| e == "account.locked" || e == "account.unlocked")
        .collect();
    assert_eq!(
        locks,
        [
            ("account.locked".into(), by_cli.clone()),
            ("account.unlocked".into(), by_cli)
        ]
    );
}

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
    // The enrolled key swapped for another: the evidence key is not the approver's.
    let v = app.enrolled("cliappr2").await;
    let (foreign,): (String,) = on_db!(db, c => sqlx::query_as("SELECT key_json FROM credentials WHERE user_id = $1")
        .bind(v.user_id).fetch_one(c).await.unwrap());
    let approver = row.credential_key_id.unwrap();
    on_db!(db, c => sqlx::query("UPDATE credentials SET key_json = $1 WHERE id = $2")
        .bind(&foreign).bind(approver).execute(c).await.unwrap().rows_affected());
    expect_invalid("key").await;

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
