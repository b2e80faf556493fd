//! `mds-blob`: writes FIDO metadata BLOBs signed under a fresh test root, for
//! the browser tests (which cannot make X.509 certificates themselves).

use std::path::Path;
use std::process::ExitCode;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use keyward_testkit::{BlobSigner, mds};

const USAGE: &str = "\
mds-blob: FIDO metadata BLOBs signed under a fresh test root.

Usage:
  mds-blob DIR AAGUID DESCRIPTION VENDOR_CA_PEM

Writes into DIR:
  root.pem     the root the BLOBs chain to (pin it with attestation.metadata_roots)
  blob-1.jwt   no 1: the model AAGUID, attested under VENDOR_CA_PEM, FIDO_CERTIFIED_L1
  blob-2.jwt   no 2: the same model, then ATTESTATION_KEY_COMPROMISE
Test material only: the root's key is thrown away.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [dir, aaguid, description, vendor] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match write(Path::new(dir), aaguid, description, Path::new(vendor)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mds-blob: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(dir: &Path, aaguid: &str, description: &str, vendor: &Path) -> Result<(), String> {
    let pem = std::fs::read_to_string(vendor).map_err(|e| format!("{}: {e}", vendor.display()))?;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = STANDARD
        .decode(body.trim())
        .map_err(|e| format!("{}: not a PEM certificate: {e}", vendor.display()))?;
    let signer = BlobSigner::generate("Keyward Test MDS");
    let certified = ("FIDO_CERTIFIED_L1", "2024-01-01");
    let blobs = [
        ("blob-1.jwt", 1, vec![certified]),
        (
            "blob-2.jwt",
            2,
            vec![certified, ("ATTESTATION_KEY_COMPROMISE", "2026-11-01")],
        ),
    ];
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let out = |name: &str, text: String| {
        std::fs::write(dir.join(name), text).map_err(|e| format!("{name}: {e}"))
    };
    out("root.pem", signer.root().cert_pem())?;
    for (name, no, statuses) in blobs {
        let entry =
            mds::entry_with_roots(aaguid, description, std::slice::from_ref(&der), &statuses);
        out(
            name,
            signer.sign(&mds::payload(no, "2099-01-01", vec![entry])),
        )?;
    }
    Ok(())
}
