//! Signed checkpoints of the audit chain, and checking the chain against
//! them.
//!
//! The hash chain shows an edited, removed or reordered entry — unless the
//! editor also recomputes every later hash and the head, which someone who
//! can write the database can do. A checkpoint is the head (`seq`, `hash`)
//! signed with the approval-signing key, which is kept outside the database
//! (sealed under the KEK or in a token): exported and kept elsewhere, it
//! pins the chain as it was. Checked against the current chain, a rewritten
//! and re-hashed entry shows as a checkpoint whose entry has another hash,
//! and a truncated or deleted tail as a checkpoint beyond the log's end.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;
use crate::custody::Custody;
use crate::db::Db;
use crate::signing;
use crate::store::audit::{self, CheckpointRow};

/// What a checkpoint says (the signed payload).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckpointClaims {
    /// Always `keyward-audit-checkpoint`.
    pub typ: String,
    /// The entry it vouches for (the head then).
    pub seq: i64,
    /// That entry's hash.
    pub hash: String,
    /// When it was signed (milliseconds).
    pub at: Millis,
}

/// The payload type of a checkpoint.
const TYP: &str = "keyward-audit-checkpoint";

/// Signs and stores a checkpoint of the head now. `None` when the log is
/// empty or the head already has one.
pub async fn make(
    db: &Db,
    custody: &Custody,
    now: Millis,
) -> anyhow::Result<Option<CheckpointRow>> {
    let (seq, hash) = audit::head(db).await?;
    if seq == 0 {
        return Ok(None);
    }
    let claims = CheckpointClaims {
        typ: TYP.into(),
        seq,
        hash: hash.clone(),
        at: now,
    };
    let signer = signing::active_in(db, custody).await?;
    let token = signing::sign_payload(&signer, &claims)?;
    let row = CheckpointRow {
        seq,
        hash,
        at: now,
        token,
    };
    Ok(audit::insert_checkpoint(db, &row).await?.then_some(row))
}

/// How the chain compares with a set of checkpoints.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Every checkpoint's entry is there with the hash it signed.
    Matches {
        /// Checkpoints checked.
        checkpoints: usize,
    },
    /// The chain differs from what a checkpoint signed.
    Differs {
        /// The first checkpoint the chain no longer matches.
        seq: i64,
        /// What is wrong, in words.
        reason: String,
    },
}

/// Checks the chain against checkpoint `tokens` (as exported): each must be
/// signed by a key usable here (never a key merely stored in the database)
/// and its entry must be in the log with the signed hash. Checkpoints are
/// taken in `seq` order; the first difference is reported.
pub async fn verify(db: &Db, custody: &Custody, tokens: &[String]) -> anyhow::Result<Verdict> {
    let keys = signing::all_usable_keys(db, custody).await?;
    let mut claims = Vec::with_capacity(tokens.len());
    for (i, token) in tokens.iter().enumerate() {
        let payload =
            keyward_access::approval::verify_payload(token.trim(), &keys).map_err(|e| {
                anyhow::anyhow!("checkpoint {}: not signed by a Keyward key ({e})", i + 1)
            })?;
        let c: CheckpointClaims = serde_json::from_value(payload)
            .map_err(|_| anyhow::anyhow!("checkpoint {}: not a checkpoint", i + 1))?;
        if c.typ != TYP {
            anyhow::bail!("checkpoint {}: not a checkpoint", i + 1);
        }
        claims.push(c);
    }
    claims.sort_by_key(|c| c.seq);
    let last = audit::last_seq(db).await?;
    let mut good_up_to = 0;
    for c in &claims {
        let signed_at = crate::clock::rfc3339(c.at);
        if c.seq > last {
            return Ok(Verdict::Differs {
                seq: c.seq,
                reason: format!(
                    "the log ends at entry {last}, but a checkpoint signed at {signed_at} \
                     vouches for entry {}: entries were removed from the end",
                    c.seq
                ),
            });
        }
        match audit::hash_at(db, c.seq).await? {
            Some(hash) if hash == c.hash => good_up_to = c.seq,
            found => {
                let what = if found.is_some() {
                    "no longer has the hash"
                } else {
                    "is missing, though it has"
                };
                return Ok(Verdict::Differs {
                    seq: c.seq,
                    reason: format!(
                        "entry {} {what} the checkpoint signed at {signed_at} recorded: an \
                         entry after {good_up_to} and up to {} was rewritten or removed",
                        c.seq, c.seq
                    ),
                });
            }
        }
    }
    Ok(Verdict::Matches {
        checkpoints: claims.len(),
    })
}
