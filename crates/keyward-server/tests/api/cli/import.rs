//! `keyward import`: accounts from JSON lines, all or nothing. An imported
//! account signs in with its password and the soft key derived for it; a bad
//! line or a taken name imports nothing and says which line.

use keyward_access::PasswordParams;
use keyward_access::password::PasswordHasher;
use keyward_fido::RelyingParty;
use keyward_loadgen::bulk::{self, Synthetic};
use keyward_server::db::Db;
use keyward_server::store::users;
use reqwest::StatusCode;
use serde_json::Value;

use super::{Cli, code, events, show, stderr};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User};

backend_tests!(
    imported_accounts_sign_in_with_their_derived_keys,
    a_bad_line_imports_nothing_and_names_the_line,
);

const PASSWORD: &str = "imported account password";

/// A generator for `app`'s relying party, with the test's cheap argon2.
fn synthetic(app: &TestApp, seed: &str, keys: u32) -> Synthetic {
    let params: PasswordParams = app.state.config.password;
    let hash = PasswordHasher::new(params)
        .unwrap()
        .hash(&PASSWORD.to_owned().into(), &[])
        .unwrap();
    let rp = RelyingParty {
        id: app.state.config.rp_id.clone(),
        origin: app.origin.parse().unwrap(),
        name: "Keyward".into(),
    };
    Synthetic::new(&rp, seed, "imp", keys, hash).unwrap()
}

/// Writes accounts `first..first + n` to a file in the app's directory.
fn write(app: &TestApp, synth: &Synthetic, name: &str, first: u64, n: u64) -> String {
    let path = app.state.config.data_dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    synth.write(&mut file, first, n, 2).unwrap();
    path.display().to_string()
}

async fn imported_accounts_sign_in_with_their_derived_keys(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let synth = synthetic(&app, "import-seed", 2);
    let file = write(&app, &synth, "accounts.jsonl", 0, 5);
    cli.says(
        &format!("import {file}"),
        "imported 5 accounts with 10 keys",
    )
    .await;

    for index in [0, 4] {
        let mut user = User {
            username: bulk::username("imp", index),
            password: PASSWORD.into(),
            key: bulk::soft_key("import-seed", index, 2, &app.state.config.rp_id, 0).unwrap(),
            browser: app.browser(),
            other_keys: Vec::new(),
            user_id: uuid::Uuid::nil(),
        };
        let browser = app.password_step(&user).await;
        let (status, body) = app
            .key_step(&browser, &mut user.key, &Default::default())
            .await;
        assert_eq!(status, StatusCode::OK, "imported account {index}: {body}");
        let (status, keys) = app.get(&browser, "/v1/keys").await;
        assert_eq!(status, StatusCode::OK, "{keys}");
        assert_eq!(keys["keys"].as_array().map(Vec::len), Some(2), "{keys}");
    }
    // Every imported account's keys start its key chain.
    let unchained = keyward_server::store::key_chain::unchained_users(&app.state.db)
        .await
        .unwrap();
    assert!(unchained.is_empty(), "{unchained:?}");
    // Another seed's key is refused for the same account.
    let mut wrong = User {
        username: bulk::username("imp", 1),
        password: PASSWORD.into(),
        key: bulk::soft_key("other-seed", 1, 2, &app.state.config.rp_id, 0).unwrap(),
        browser: app.browser(),
        other_keys: Vec::new(),
        user_id: uuid::Uuid::nil(),
    };
    let browser = app.password_step(&wrong).await;
    let options = app
        .post(&browser, "/v1/signin/key/options", serde_json::json!({}))
        .await
        .1;
    assert!(
        wrong
            .key
            .try_assert_with(&options, &app.origin, &Default::default())
            .is_err(),
        "no credential of another seed is allowed"
    );

    let imported: Vec<(String, Value)> = events(&app.state.db)
        .await
        .into_iter()
        .filter(|(e, _)| e == "accounts.imported")
        .collect();
    assert_eq!(imported.len(), 1, "{imported:?}");
    assert_eq!(
        (&imported[0].1["accounts"], &imported[0].1["keys"]),
        (&5.into(), &10.into())
    );
    if let Db::Postgres(pg) = &app.state.db {
        // Never analysed, a table's reltuples is -1; autovacuum ignores 10 rows.
        let tuples: f32 = sqlx::query_scalar(
            "SELECT reltuples FROM pg_class WHERE oid = 'credentials'::regclass",
        )
        .fetch_one(pg)
        .await
        .unwrap();
        assert!(tuples >= 10.0, "import refreshed the statistics: {tuples}");
    }
}

async fn a_bad_line_imports_nothing_and_names_the_line(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let cli = Cli::for_app(&app).await;
    let synth = synthetic(&app, "bad-seed", 1);
    let good = std::fs::read_to_string(write(&app, &synth, "good.jsonl", 10, 3)).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let line: Value = serde_json::from_str(lines[2]).unwrap();
    let other: Value = serde_json::from_str(synth.line(99).unwrap().as_str()).unwrap();

    let mut swapped = line.clone();
    swapped["credentials"][0]["key"] = other["credentials"][0]["key"].clone();
    let mut bad_name = line.clone();
    bad_name["username"] = "no spaces allowed".into();
    let mut bad_hash = line.clone();
    bad_hash["password_hash"] = "$2b$12$bcrypt.is.not.accepted".into();
    let mut no_keys = line.clone();
    no_keys["credentials"] = Value::Array(vec![]);
    let mut extra = line.clone();
    extra["is_admin"] = true.into();
    let cases = [
        (swapped.to_string(), "not the key's credential id"),
        (bad_name.to_string(), "username"),
        (bad_hash.to_string(), "not an argon2id PHC string"),
        (no_keys.to_string(), "1 to 10 keys"),
        (extra.to_string(), "unknown field"),
        ("{not json".to_owned(), "not an account object"),
    ];
    for (i, (bad, expected)) in cases.iter().enumerate() {
        let path = app.state.config.data_dir.join(format!("bad{i}.jsonl"));
        std::fs::write(&path, format!("{}\n{}\n{bad}\n", lines[0], lines[1])).unwrap();
        let out = cli.run(&["import", path.to_str().unwrap()]).await;
        assert_eq!(code(&out), 1, "{expected}: {}", show(&out));
        let err = stderr(&out);
        assert!(
            err.contains("line 3")
                && err.contains("nothing was imported")
                && err.contains(expected),
            "{expected}: {err}"
        );
    }
    // A name taken by an earlier import: the whole second file is refused.
    let path = app.state.config.data_dir.join("first.jsonl");
    std::fs::write(&path, format!("{}\n", lines[1])).unwrap();
    cli.says(&format!("import {}", path.display()), "imported 1 accounts")
        .await;
    let path = app.state.config.data_dir.join("again.jsonl");
    std::fs::write(&path, &good).unwrap();
    let out = cli.run(&["import", path.to_str().unwrap()]).await;
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(stderr(&out).contains("username is taken"), "{}", show(&out));

    let db = &app.state.db;
    for (index, expected) in [(10, false), (11, true), (12, false)] {
        let name = bulk::username("imp", index);
        let found = users::by_name(db, &name).await.unwrap().is_some();
        assert_eq!(found, expected, "{name}");
    }
    let imports = events(db)
        .await
        .into_iter()
        .filter(|(e, _)| e == "accounts.imported")
        .count();
    assert_eq!(imports, 1, "refused imports are not audited as imports");
}
