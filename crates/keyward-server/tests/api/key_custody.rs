//! Approval-signing keys are kept sealed under a key-encryption key from
//! outside the database: the database holds no usable private key, and a
//! key someone writes into it is never used nor published. Each test is an
//! attack on the database that must fail.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use keyward_access::approval::SigningKey;
use keyward_server::kek::Kek;
use keyward_server::store::signing_keys;
use keyward_testkit::Forge;
use reqwest::StatusCode;
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp, User, withdrawal};
use crate::on_db;

backend_tests!(
    signing_keys_are_sealed_in_the_database,
    a_key_written_into_the_database_never_signs_nor_is_published,
    without_a_key_that_opens_nothing_is_approved,
    an_instance_with_another_kek_does_not_start,
    shared_secrets_are_sealed_and_a_planted_one_is_not_used,
);

/// A user ready to approve a withdrawal step-up; the step-up id.
async fn pending_withdrawal(app: &TestApp, name: &str) -> (User, String) {
    let user = app.withdrawal_ready(name).await;
    let svc = app.service(&app.service_key(&["stepup:create"]).await);
    let (status, step) = app
        .post(
            &svc,
            "/v1/step-ups",
            withdrawal(name, "0.1", &format!("{name}-1")),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{step}");
    (user, step["id"].as_str().unwrap().to_owned())
}

/// Approves the step-up; the token's header (or the refusal), once the
/// token has verified with the served JWKS.
async fn approve_header(app: &TestApp, user: &mut User, id: &str) -> (StatusCode, Value) {
    let (status, body) = app.approve(user, id, &Forge::default()).await;
    if status != StatusCode::OK {
        return (status, body);
    }
    let token = body["approval"].as_str().unwrap();
    // Whoever holds the key, the token verifies with the published keys.
    let (_, jwks) = app.get(&app.browser(), "/.well-known/jwks.json").await;
    let (issuer, now) = (app.state.config.issuer(), app.state.clock.now() / 1000);
    keyward_access::approval::verify(token, &jwks, &issuer, "keyward-step-up", now)
        .expect("the approval verifies with the published JWKS");
    let header = token.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    (status, header)
}

/// Approves a withdrawal for a new user `name`; the token's header.
pub(crate) async fn approval_header(app: &TestApp, name: &str) -> (StatusCode, Value) {
    let (mut user, id) = pending_withdrawal(app, name).await;
    approve_header(app, &mut user, &id).await
}

pub(crate) async fn published_kids(app: &TestApp) -> Vec<String> {
    let (_, jwks) = app.get(&app.browser(), "/.well-known/jwks.json").await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// Writes a signing-key row as someone with database access would.
pub(crate) async fn plant(
    app: &TestApp,
    kid: &str,
    private_key: &[u8],
    custody: &str,
    created_at: i64,
) {
    let db = &app.state.db;
    let jwk = json!({"kty": "OKP", "crv": "Ed25519", "x": "AAAA", "kid": kid}).to_string();
    on_db!(db, c => sqlx::query(
        "INSERT INTO signing_keys (kid, private_key, public_jwk, created_at, custody) VALUES ($1,$2,$3,$4,$5)")
        .bind(kid).bind(private_key).bind(&jwk).bind(created_at).bind(custody)
        .execute(c).await.unwrap().rows_affected());
}

async fn signing_keys_are_sealed_in_the_database(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let s = &app.state;
    keyward_server::flows::admin::rotate_signing_key(&s.db, &s.custody, s.clock.now())
        .await
        .unwrap();
    let rows = signing_keys::list(&s.db).await.unwrap();
    assert_eq!(rows.len(), 2);
    for row in &rows {
        // The Ed25519 seed is the last 32 bytes of the PKCS#8 document.
        let der = s.custody.kek().open(&row.kid, &row.private_key).unwrap();
        let seed = &der.expose_secret()[der.expose_secret().len() - 32..];
        assert!(
            !row.private_key.windows(32).any(|w| w == seed),
            "{} in clear",
            row.kid
        );
        // The PKCS#8 Ed25519 prefix does not appear either.
        let prefix = hex::decode("302e020100300506032b6570").unwrap();
        assert!(
            !row.private_key
                .windows(prefix.len())
                .any(|w| w == prefix.as_slice())
        );
        if let Backend::Sqlite = b {
            // Nor anywhere in the database files.
            for file in ["keyward.db", "keyward.db-wal"] {
                let path = s.config.data_dir.join(file);
                let bytes = std::fs::read(&path).unwrap_or_default();
                assert!(!bytes.windows(32).any(|w| w == seed), "{file} holds a seed");
            }
        }
    }
    // The key that signs is one of them.
    let (status, header) = approval_header(&app, "sealer").await;
    assert_eq!(status, StatusCode::OK, "{header}");
    assert!(rows.iter().any(|r| header["kid"] == r.kid.as_str()));
}

async fn a_key_written_into_the_database_never_signs_nor_is_published(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let s = &app.state;
    let ours = signing_keys::active(&s.db).await.unwrap().unwrap().kid;
    let later = s.clock.now() + 60_000;
    // The attacker's own key, in clear, newest; and one sealed under the
    // attacker's own KEK.
    let mine = SigningKey::generate();
    let der = mine.to_pkcs8_der().unwrap();
    plant(&app, &mine.kid, der.expose_secret(), "clear", later).await;
    let theirs = SigningKey::generate();
    let sealed = Kek::new(&[9; 32])
        .seal(&theirs.kid, theirs.to_pkcs8_der().unwrap().expose_secret())
        .unwrap();
    plant(&app, &theirs.kid, &sealed, "kek", later + 1).await;

    let (status, header) = approval_header(&app, "victim").await;
    assert_eq!(status, StatusCode::OK, "{header}");
    assert_eq!(header["kid"], ours.as_str(), "signed with our key only");
    let kids = published_kids(&app).await;
    assert_eq!(
        kids,
        vec![ours.clone()],
        "only keys that open are published"
    );

    // At the next start the clear key is retired and wiped.
    keyward_server::signing::ensure_key(&s.db, &s.custody, s.clock.now())
        .await
        .unwrap();
    let planted = signing_keys::list(&s.db).await.unwrap();
    let planted = planted.iter().find(|r| r.kid == mine.kid).unwrap();
    assert!(planted.retired_at.is_some() && planted.private_key.is_empty());
}

async fn without_a_key_that_opens_nothing_is_approved(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let (mut user, id) = pending_withdrawal(&app, "failclosed").await;
    let db = &app.state.db;
    on_db!(db, c => sqlx::query("DELETE FROM signing_keys").execute(c).await.unwrap().rows_affected());
    let attacker = SigningKey::generate();
    plant(
        &app,
        &attacker.kid,
        attacker.to_pkcs8_der().unwrap().expose_secret(),
        "kek",
        1,
    )
    .await;
    let (status, body) = approve_header(&app, &mut user, &id).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(published_kids(&app).await.is_empty());
    let (status, _) = app.get(&app.browser(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

async fn an_instance_with_another_kek_does_not_start(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let mut config = app.state.config.clone();
    let dir = tempfile::tempdir().unwrap();
    config.data_dir = dir.path().to_path_buf();
    config.database_url = Some(app.database.0.clone());
    config.signing.kek = Some(
        base64::engine::general_purpose::STANDARD
            .encode([5u8; 32])
            .into(),
    );
    let schema = app.database.1.clone();
    let err = keyward_server::App::build(config, keyward_server::Clock::default(), schema)
        .await
        .err()
        .expect("another KEK must not start");
    assert!(err.to_string().contains("KEK"), "{err}");
}

async fn secret(app: &TestApp, name: &str) -> Vec<u8> {
    let db = &app.state.db;
    on_db!(db, c => sqlx::query_scalar::<_, Vec<u8>>("SELECT value FROM server_secrets WHERE name = $1")
        .bind(name).fetch_one(c).await.unwrap())
}

/// The device-cookie and passkey-handle MAC keys are sealed like the
/// signing keys; one found in clear (say, written by an attacker who wants
/// to mint device cookies) is replaced, never used.
async fn shared_secrets_are_sealed_and_a_planted_one_is_not_used(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let kek = app.state.custody.kek();
    for name in ["device_mac", "passkey_mac"] {
        let stored = secret(&app, name).await;
        assert_ne!(stored.len(), 32, "{name} is not in clear");
        assert_eq!(kek.open(name, &stored).unwrap().expose_secret().len(), 32);
    }
    let planted = [7u8; 32];
    let db = &app.state.db;
    on_db!(db, c => sqlx::query("UPDATE server_secrets SET value = $1 WHERE name = 'device_mac'")
        .bind(planted.to_vec()).execute(c).await.unwrap().rows_affected());
    // The next instance to start replaces it.
    let _beside = app.spawn_beside().await;
    let stored = secret(&app, "device_mac").await;
    let opened = kek.open("device_mac", &stored).unwrap();
    assert_ne!(opened.expose_secret().as_slice(), planted.as_slice());
}
