//! The `keyward` command line, run as a process against a real database:
//! the one a test server uses (its SQLite file, or its PostgreSQL schema), so
//! what the CLI changes is checked through the HTTP API and the store.

use std::path::PathBuf;
use std::process::Output;

use crate::on_db;
use keyward_access::token::{TokenKind, parse};
use keyward_server::Db;
use keyward_server::store::{service_keys, signing_keys};
use reqwest::StatusCode;
use serde_json::{Value, json};
use uuid::Uuid;

mod approval;
mod audit;
mod import;
mod metadata;

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, assert_problem};

backend_tests!(
    service_key_create_authenticates_and_revoke_disables,
    service_key_create_refuses_unknown_scopes_and_bad_names,
    signing_key_rotate_retires_the_active_key,
    withdrawals_freeze_status_unfreeze_round_trip,
    user_lock_blocks_sign_in_until_unlocked,
);

/// Runs the `keyward` binary against a test server's database.
pub(super) struct Cli {
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl Cli {
    pub(super) async fn for_app(app: &TestApp) -> Self {
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
    pub(super) async fn run_with(&self, args: &[&str], extra: &[(&str, &str)]) -> Output {
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

    /// Runs `args` as the operator whose admin key is `key`; expects exit
    /// `expected` and returns stdout and stderr.
    pub(super) async fn as_operator(&self, key: &str, args: &[&str], expected: i32) -> String {
        let out = self.run_with(args, &[("KEYWARD_OPERATOR_KEY", key)]).await;
        assert_eq!(code(&out), expected, "{args:?}: {}", show(&out));
        show(&out)
    }

    /// Runs `line`, split on whitespace.
    async fn line(&self, line: &str) -> Output {
        self.run(&line.split_whitespace().collect::<Vec<_>>()).await
    }

    /// Runs `line` (split on whitespace); returns stdout after checking
    /// the exit code.
    pub(super) async fn exits(&self, line: &str, expected: i32) -> String {
        let out = self.line(line).await;
        assert_eq!(code(&out), expected, "{line}: {}", show(&out));
        stdout(&out)
    }

    /// Runs `line`, expects exit 0 and `needle` in stdout; returns stdout.
    pub(super) async fn says(&self, line: &str, needle: &str) -> String {
        let out = self.exits(line, 0).await;
        assert!(out.contains(needle), "{line}: expected {needle:?} in {out}");
        out
    }
}

pub(super) fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

pub(super) fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub(super) fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

pub(super) fn show(out: &Output) -> String {
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

    // Lifting it needs two operators, each with an admin key.
    let unfreeze = ["withdrawals", "unfreeze", "--reason", "incident 7 over"];
    let alone = cli.run(&unfreeze).await;
    assert!(
        code(&alone) == 1 && stderr(&alone).contains("KEYWARD_OPERATOR_KEY"),
        "{}",
        show(&alone)
    );
    let op_a = app.named_service_key("operator-a", &["admin"]).await;
    let op_b = app.named_service_key("operator-b", &["admin"]).await;
    let asked = cli.as_operator(&op_a, &unfreeze, 0).await;
    assert!(asked.contains("waiting for a second operator"), "{asked}");
    let id = asked
        .split_whitespace()
        .find(|w| Uuid::parse_str(w).is_ok())
        .unwrap()
        .to_owned();
    let again = cli.as_operator(&op_b, &unfreeze, 1).await;
    assert!(again.contains(&id), "one request at a time: {again}");
    cli.says("withdrawals status", "frozen:  yes").await;
    let listed = cli.as_operator(&op_b, &["requests", "list"], 0).await;
    assert!(
        listed.contains(&id) && listed.contains("pending"),
        "{listed}"
    );
    let own = cli
        .as_operator(&op_a, &["requests", "approve", &id], 1)
        .await;
    assert!(own.contains("second operator"), "{own}");
    cli.says("withdrawals status", "frozen:  yes").await;
    let done = cli
        .as_operator(&op_b, &["requests", "approve", &id], 0)
        .await;
    assert!(done.contains("approved by operator-b"), "{done}");
    let twice = cli
        .as_operator(&op_b, &["requests", "approve", &id], 1)
        .await;
    assert!(twice.contains("approved"), "{twice}");
    cli.says("withdrawals status", "frozen:  no").await;
    let (_, body) = app.get(&admin, "/v1/admin/withdrawals").await;
    assert_eq!(body["frozen"], false);
    let blank = cli.run(&["withdrawals", "freeze", "--reason", "  "]).await;
    assert_eq!(code(&blank), 1);

    let frozen = json!({ "reason": "incident 7", "by": "cli" });
    let unfrozen = json!({
        "reason": "incident 7 over",
        "by": "service:operator-a approved by service:operator-b"
    });
    // (The test's own admin keys were created, and audited, first.)
    let freezes: Vec<_> = events(&app.state.db)
        .await
        .into_iter()
        .filter(|(e, _)| e.starts_with("withdrawals."))
        .collect();
    assert_eq!(
        freezes,
        [
            ("withdrawals.frozen".into(), frozen),
            ("withdrawals.unfrozen".into(), unfrozen)
        ]
    );
    // Three admin keys' creation, the freeze, the request, its approval,
    // the unfreeze.
    cli.says("audit verify", "intact: 7 entries").await;
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

    let (status, _) = app.get(&u.browser, "/v1/keys").await;
    assert_eq!(status, StatusCode::OK, "signed in before the lock");
    cli.says("user lock CliUser1", "account CliUser1 locked")
        .await;
    // The lock ends every session at once…
    let (status, _) = app.get(&u.browser, "/v1/keys").await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the session ended with the lock"
    );
    // …and refuses the right password, only once it is proven right (a
    // stranger learns nothing of the lock).
    let body = json!({ "username": u.username, "password": u.password });
    let refused = app.post(&app.browser(), "/v1/signin/password", body).await;
    assert_problem(&refused, StatusCode::TOO_MANY_REQUESTS, "account-locked");
    let wrong = json!({ "username": u.username, "password": "not the password!" });
    let stranger = app.post(&app.browser(), "/v1/signin/password", wrong).await;
    assert_problem(&stranger, StatusCode::UNAUTHORIZED, "invalid-credentials");
    cli.says("user show cliuser1", "locked:   yes").await;
    cli.says("user lock cliuser1", "already locked").await;

    let op_a = app.named_service_key("operator-a", &["admin"]).await;
    let op_b = app.named_service_key("Operator-A", &["admin"]).await;
    let op_c = app.named_service_key("operator-c", &["admin"]).await;
    let unlock = ["user", "unlock", "cliuser1", "--reason", "ticket 12"];
    let asked = cli.as_operator(&op_a, &unlock, 0).await;
    let id = asked
        .split_whitespace()
        .find(|w| Uuid::parse_str(w).is_ok())
        .unwrap()
        .to_owned();
    // A second key by the same name is the same operator.
    let same = cli
        .as_operator(&op_b, &["requests", "approve", &id], 1)
        .await;
    assert!(same.contains("second operator"), "{same}");
    cli.says("user show cliuser1", "locked:   yes").await;
    cli.as_operator(&op_c, &["requests", "approve", &id], 0)
        .await;
    app.sign_in(&mut u).await;
    cli.as_operator(&op_a, &["user", "unlock", "nobody", "--reason", "x"], 1)
        .await;
    for line in ["user lock nobody", "user show nobody", "requests approve x"] {
        cli.exits(line, 1).await;
    }

    let locked = json!({ "by": "cli", "sessions_ended": 1 });
    let unlocked = json!({
        "by": "service:operator-a approved by service:operator-c",
        "lock_lifted": true,
        "throttles_cleared": 1
    });
    let locks: Vec<(String, Value)> = events(&app.state.db)
        .await
        .into_iter()
        .filter(|(e, _)| e == "account.locked" || e == "account.unlocked")
        .collect();
    assert_eq!(
        locks,
        [
            ("account.locked".into(), locked),
            ("account.unlocked".into(), unlocked)
        ]
    );
}
