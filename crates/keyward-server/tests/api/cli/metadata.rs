//! `keyward attestation import-mds` and `keyward keys suspended`: a BLOB
//! file signed under the test's root (pinned through the environment, as an
//! operator would in `keyward.toml`), imported by the binary.

use keyward_testkit::{BlobSigner, Forge, SoftKey, TestCa, mds};
use reqwest::StatusCode;

use super::{Cli, code, show, stderr};
use crate::backend_tests;
use crate::helpers::{Backend, TestApp};

backend_tests!(import_mds_suspends_keys_and_refuses_an_old_blob,);

const MODEL: &str = "6b657977-6172-642d-636c-692d6d646c31";

async fn import_mds_suspends_keys_and_refuses_an_old_blob(b: Backend) {
    let app = TestApp::spawn(&b).await;
    let signer = BlobSigner::generate("CLI MDS");
    let vendor = TestCa::generate("CLI Vendor");
    let dir = &app.state.config.data_dir;
    let root = dir.join("mds-root.pem");
    std::fs::write(&root, signer.root().cert_pem()).unwrap();
    let roots = format!("[\"{}\"]", root.display());
    let env = [("KEYWARD_ATTESTATION__METADATA_ROOTS", roots.as_str())];
    let cli = Cli::for_app(&app).await;

    let mut user = app.signed_up("gina").await;
    user.key = SoftKey::new().with_aaguid(*uuid::Uuid::parse_str(MODEL).unwrap().as_bytes());
    assert_eq!(
        app.enrol(&mut user, Forge::default()).await.0,
        StatusCode::CREATED
    );

    let write = |name: &str, no: u64, status: &str| {
        let entry = mds::entry(MODEL, "CLI Test Key", &[&vendor], &[(status, "2026-06-01")]);
        let path = dir.join(name);
        std::fs::write(
            &path,
            signer.sign(&mds::payload(no, "2020-01-01", vec![entry])),
        )
        .unwrap();
        path.display().to_string()
    };
    let revoked = write("blob-7.jwt", 7, "REVOKED");
    let out = cli
        .run_with(&["attestation", "import-mds", &revoked], &env)
        .await;
    assert_eq!(code(&out), 0, "{}", show(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("FIDO metadata no 7 in use: 1 models (1 compromised)"),
        "{said}"
    );
    assert!(said.contains("keys suspended: 1"), "{said}");
    // nextUpdate 2020-01-01 has passed: imported, with a warning.
    assert!(stderr(&out).contains("has passed"), "{}", show(&out));

    let listed = cli.says("keys suspended", "REVOKED").await;
    assert!(
        listed.contains("gina") && listed.contains("CLI Test Key"),
        "{listed}"
    );
    cli.says("attestation status", "no 7").await;

    // The same serial again: refused (exit 1), nothing changes.
    let again = write("blob-7b.jwt", 7, "FIDO_CERTIFIED_L1");
    let out = cli
        .run_with(&["attestation", "import-mds", &again], &env)
        .await;
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(stderr(&out).contains("not newer"), "{}", show(&out));
    cli.says("keys suspended", "gina").await;

    // Without the test root pinned, the pinned FIDO roots refuse it.
    let newer = write("blob-8.jwt", 8, "FIDO_CERTIFIED_L1");
    let out = cli.run(&["attestation", "import-mds", &newer]).await;
    assert_eq!(code(&out), 1, "{}", show(&out));
    assert!(
        stderr(&out).contains("does not chain to a trusted root"),
        "{}",
        show(&out)
    );
}
