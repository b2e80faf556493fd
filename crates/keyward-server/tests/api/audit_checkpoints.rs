//! Signed checkpoints of the audit chain. Someone who can write the
//! database can rewrite an entry and recompute every later hash and the
//! head — the chain then verifies — or cut the tail off. A checkpoint signed
//! with the key kept outside the database, exported before the attack,
//! finds both; a checkpoint signed with another key is refused.

use keyward_server::flows::checkpoints::{self, Verdict};
use keyward_server::store::audit::{self, entry_hash, verify_chain};

use crate::backend_tests;
use crate::helpers::{Backend, TestApp};
use crate::on_db;

backend_tests!(
    a_rewritten_and_rehashed_entry_is_found_by_a_checkpoint,
    a_removed_tail_is_found_by_a_checkpoint,
    a_checkpoint_not_signed_by_keyward_is_refused,
);

/// An app with a few audit entries and a checkpoint of its head; the
/// checkpoint, as exported.
async fn with_checkpoint(b: &Backend) -> (TestApp, Vec<String>) {
    let app = TestApp::spawn(b).await;
    let mut u = app.enrolled("auditee").await;
    app.sign_in(&mut u).await;
    let s = &app.state;
    let row = checkpoints::make(&s.db, &s.custody, s.clock.now())
        .await
        .unwrap()
        .expect("a new checkpoint");
    assert_eq!(row.seq, 3);
    // Nothing new to checkpoint until the head moves.
    assert!(
        checkpoints::make(&s.db, &s.custody, s.clock.now())
            .await
            .unwrap()
            .is_none()
    );
    let verdict = checkpoints::verify(&s.db, &s.custody, std::slice::from_ref(&row.token))
        .await
        .unwrap();
    assert_eq!(verdict, Verdict::Matches { checkpoints: 1 });
    (app, vec![row.token])
}

/// What an attacker with database access does: recompute every hash from
/// entry `from` on, and the head, so the chain verifies again.
pub(crate) async fn rehash_from(app: &TestApp, from: i64) {
    let db = &app.state.db;
    let rows = audit::page(db, 1, 10_000).await.unwrap();
    let mut prev = "0".repeat(64);
    for r in &rows {
        if r.seq >= from {
            let hash = entry_hash(
                r.seq,
                r.at,
                r.user_id,
                &r.event,
                &r.detail,
                r.ip.as_deref(),
                &prev,
            );
            on_db!(db, c => sqlx::query("UPDATE audit_log SET prev_hash = $1, hash = $2 WHERE seq = $3")
                .bind(&prev).bind(&hash).bind(r.seq).execute(c).await.unwrap().rows_affected());
            prev = hash;
        } else {
            prev = r.hash.clone();
        }
    }
    let last = rows.last().map_or(0, |r| r.seq);
    on_db!(db, c => sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(last).bind(&prev).execute(c).await.unwrap().rows_affected());
}

async fn a_rewritten_and_rehashed_entry_is_found_by_a_checkpoint(b: Backend) {
    let (app, exported) = with_checkpoint(&b).await;
    let db = &app.state.db;
    on_db!(db, c => sqlx::query("UPDATE audit_log SET detail = '{\"username\":\"mallory\"}' WHERE seq = 1")
        .execute(c).await.unwrap().rows_affected());
    rehash_from(&app, 1).await;
    // The chain alone cannot tell.
    assert_eq!(verify_chain(db).await.unwrap().unwrap(), 3);
    // The checkpoint can, and says where.
    let verdict = checkpoints::verify(db, &app.state.custody, &exported)
        .await
        .unwrap();
    let Verdict::Differs { seq, reason } = verdict else {
        panic!("not detected: {verdict:?}");
    };
    assert_eq!(seq, 3);
    assert!(reason.contains("after 0 and up to 3"), "{reason}");
}

async fn a_removed_tail_is_found_by_a_checkpoint(b: Backend) {
    let (app, exported) = with_checkpoint(&b).await;
    let db = &app.state.db;
    on_db!(db, c => sqlx::query("DELETE FROM audit_log WHERE seq >= 2").execute(c).await.unwrap().rows_affected());
    rehash_from(&app, 1).await;
    assert_eq!(
        verify_chain(db).await.unwrap().unwrap(),
        1,
        "the short chain verifies"
    );
    let verdict = checkpoints::verify(db, &app.state.custody, &exported)
        .await
        .unwrap();
    let Verdict::Differs { seq, reason } = verdict else {
        panic!("not detected: {verdict:?}");
    };
    assert_eq!(seq, 3);
    assert!(reason.contains("removed from the end"), "{reason}");
}

async fn a_checkpoint_not_signed_by_keyward_is_refused(b: Backend) {
    let (app, _) = with_checkpoint(&b).await;
    // The attacker signs a checkpoint of the rewritten chain with their own key.
    let theirs = keyward_access::approval::SigningKey::generate();
    let (seq, hash) = audit::head(&app.state.db).await.unwrap();
    let claims = checkpoints::CheckpointClaims {
        typ: "keyward-audit-checkpoint".into(),
        seq,
        hash,
        at: 0,
    };
    let forged = keyward_access::approval::sign_payload_with(&theirs, &claims).unwrap();
    let err = checkpoints::verify(&app.state.db, &app.state.custody, &[forged])
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("not signed by a Keyward key"),
        "{err}"
    );
}
