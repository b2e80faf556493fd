//! Approval-signing keys in a PKCS#11 token: SoftHSM2 (Debian's package),
//! a token this test run creates with `softhsm2-util` under the default
//! configuration. Keys are generated in the token, sign there, and the
//! database holds only their kids. Ignored by a plain `cargo test` (the
//! machine may not have SoftHSM2); `.ci/run` installs it and runs these
//! with the PostgreSQL suite (`--ignored`).

use std::sync::OnceLock;

use keyward_server::config::Config;
use keyward_server::hsm::Pkcs11Config;
use keyward_server::store::signing_keys;
use reqwest::StatusCode;

use crate::helpers::{Backend, TestApp};
use crate::key_custody::{approval_header, plant, published_kids};

/// Like `backend_tests!`, every variant ignored unless asked for.
macro_rules! token_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "PKCS#11: needs SoftHSM2 (apt-get install softhsm2); pass --ignored"]
                async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[ignore = "PKCS#11 on PostgreSQL: needs SoftHSM2 and KEYWARD_TEST_DATABASE_URL; pass --ignored"]
                async fn $name() {
                    let backend = $crate::helpers::Backend::postgres().expect(
                        "the PostgreSQL variants need KEYWARD_TEST_DATABASE_URL (a database URL)",
                    );
                    super::$name(backend).await
                }
            )*
        }
    };
}

token_tests!(
    keys_in_the_token_sign_and_never_reach_the_database,
    a_key_the_token_does_not_hold_is_not_used,
);

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// This run's token (created once per test process).
fn token() -> Pkcs11Config {
    static LABEL: OnceLock<String> = OnceLock::new();
    let label = LABEL.get_or_init(|| {
        assert!(
            std::path::Path::new(MODULE).exists(),
            "SoftHSM2 is not installed ({MODULE}): apt-get install softhsm2"
        );
        let label = format!("kw-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        let out = std::process::Command::new("softhsm2-util")
            .args(["--init-token", "--free", "--label", &label])
            .args(["--pin", "123456", "--so-pin", "654321"])
            .output()
            .expect("softhsm2-util runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        label
    });
    Pkcs11Config {
        module: MODULE.into(),
        token_label: label.clone(),
        pin: "123456".to_owned().into(),
    }
}

async fn app_with_token(b: &Backend) -> TestApp {
    let token = token();
    TestApp::spawn_with(b, move |c: &mut Config, _| c.signing.pkcs11 = Some(token)).await
}

async fn keys_in_the_token_sign_and_never_reach_the_database(b: Backend) {
    let app = app_with_token(&b).await;
    let s = &app.state;
    let first = signing_keys::active(&s.db).await.unwrap().unwrap();
    assert_eq!(first.custody, "pkcs11");
    assert!(first.private_key.is_empty(), "nothing private in the row");

    let (status, header) = approval_header(&app, "hsmuser").await;
    assert_eq!(status, StatusCode::OK, "{header}");
    assert_eq!(header["kid"], first.kid.as_str());
    assert_eq!(published_kids(&app).await, vec![first.kid.clone()]);

    // Rotation makes the next key in the token too; both are published.
    let next = keyward_server::flows::admin::rotate_signing_key(&s.db, &s.custody, s.clock.now())
        .await
        .unwrap();
    let rows = signing_keys::list(&s.db).await.unwrap();
    assert!(
        rows.iter()
            .all(|r| r.custody == "pkcs11" && r.private_key.is_empty())
    );
    let mut kids = published_kids(&app).await;
    kids.sort();
    let mut expected = vec![first.kid.clone(), next.clone()];
    expected.sort();
    assert_eq!(kids, expected);
    let (status, header) = approval_header(&app, "hsmuser2").await;
    assert_eq!(status, StatusCode::OK, "{header}");
    assert_eq!(header["kid"], next.as_str());
}

async fn a_key_the_token_does_not_hold_is_not_used(b: Backend) {
    let app = app_with_token(&b).await;
    let ours = signing_keys::active(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .kid;
    // A row naming a token key that does not exist (or was destroyed), newest.
    let later = app.state.clock.now() + 60_000;
    plant(&app, "not-in-the-token", &[], "pkcs11", later).await;
    let (status, header) = approval_header(&app, "hsmuser3").await;
    assert_eq!(status, StatusCode::OK, "{header}");
    assert_eq!(header["kid"], ours.as_str());
    assert_eq!(published_kids(&app).await, vec![ours]);
}
