//! FIDO metadata: importing a verified BLOB, and the lifecycle it drives for
//! keys already enrolled.
//!
//! An import verifies the BLOB's signature chain, refuses a serial not
//! greater than the one in use, replaces the stored models, and — in the
//! same transaction — suspends every enrolled key whose model's latest
//! status is a compromise (and lifts suspensions a newer BLOB no longer
//! supports), each change audited. A suspended key still signs in (unless
//! the operator turns that off) so its owner can see why and enrol another,
//! but it approves nothing.

use std::collections::HashMap;
use std::time::SystemTime;

use keyward_fido::metadata::{self, MetadataError, ModelMetadata};
use uuid::Uuid;

use crate::clock::Millis;
use crate::config::Config;
use crate::db::Db;
use crate::domain::audit::AuditEvent;
use crate::store::audit;
use crate::store::credentials;
use crate::store::metadata::{self as store, ModelRow};

/// What an import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The BLOB's serial.
    pub no: u64,
    /// When the next BLOB is due (ISO date).
    pub next_update: String,
    /// The due date has passed: this BLOB is stale (imported anyway, with a
    /// warning: stale news of a compromise beats none).
    pub overdue: bool,
    /// FIDO2 models it describes.
    pub models: usize,
    /// Models whose latest status is a compromise.
    pub compromised_models: usize,
    /// Keys suspended by this import.
    pub suspended: Vec<Uuid>,
    /// Keys whose suspension this import lifted.
    pub lifted: Vec<Uuid>,
}

/// Why an import changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The BLOB failed verification.
    #[error(transparent)]
    Blob(#[from] MetadataError),
    /// Its serial is not greater than the one in use (a replay or an old
    /// file).
    #[error("BLOB no {no} is not newer than the one in use (no {in_use})")]
    NotNewer {
        /// The BLOB's serial.
        no: u64,
        /// The serial in use.
        in_use: i64,
    },
    /// A configured root file could not be read.
    #[error("metadata root {path}: {error}")]
    Root {
        /// The file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// The roots a BLOB must chain to: the configured files, or else the pinned
/// FIDO MDS roots.
pub fn blob_roots(config: &Config) -> Result<Vec<Vec<u8>>, ImportError> {
    let files = &config.attestation.metadata_roots;
    if files.is_empty() {
        return Ok(metadata::MDS_ROOTS.iter().map(|r| r.pem.to_vec()).collect());
    }
    files
        .iter()
        .map(|path| {
            std::fs::read(path).map_err(|error| ImportError::Root {
                path: path.display().to_string(),
                error,
            })
        })
        .collect()
}

/// Verifies `blob` and puts it in use (see the module docs). `by` names who
/// imported it in the audit log.
pub async fn import(
    db: &Db,
    config: &Config,
    blob: &str,
    now: Millis,
    by: &str,
) -> Result<Imported, ImportError> {
    let roots = blob_roots(config)?;
    let roots: Vec<&[u8]> = roots.iter().map(Vec::as_slice).collect();
    let when = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(now.max(0).unsigned_abs());
    let blob = metadata::verify_blob(blob, &roots, when)?;
    let no = i64::try_from(blob.no).unwrap_or(i64::MAX);
    let rows: Vec<ModelRow> = blob.models.iter().map(model_row).collect();
    let compromised: HashMap<Uuid, &str> = blob
        .models
        .iter()
        .filter_map(|m| Some((m.aaguid, m.compromise()?)))
        .collect();

    let mut tx = db.begin().await?;
    if !store::advance(&mut tx, no, &blob.next_update, now).await? {
        drop(tx);
        let in_use = store::current(db).await?.map_or(0, |b| b.no);
        return Err(ImportError::NotNewer {
            no: blob.no,
            in_use,
        });
    }
    store::replace_models(&mut tx, &rows).await?;
    let mut suspended = Vec::new();
    let mut lifted = Vec::new();
    for key in credentials::with_models(&mut tx).await? {
        let Some(aaguid) = key.aaguid else { continue };
        let status = compromised.get(&aaguid).copied();
        if status == key.suspended_reason.as_deref() {
            continue;
        }
        credentials::set_suspension(&mut tx, key.id, status, now).await?;
        let event = match status {
            Some(status) => {
                suspended.push(key.id);
                AuditEvent::KeySuspended {
                    key_id: key.id,
                    aaguid,
                    status: status.to_owned(),
                    metadata_no: blob.no,
                }
            }
            None => {
                lifted.push(key.id);
                AuditEvent::KeySuspensionLifted {
                    key_id: key.id,
                    aaguid,
                    metadata_no: blob.no,
                }
            }
        };
        let entry = audit::Event {
            user_id: Some(key.user_id),
            event,
            ip: None,
        };
        audit::append(&mut tx, &entry, now).await?;
    }
    let imported = Imported {
        no: blob.no,
        overdue: is_overdue(&blob.next_update, now),
        next_update: blob.next_update,
        models: rows.len(),
        compromised_models: compromised.len(),
        suspended,
        lifted,
    };
    let entry = audit::Event {
        user_id: None,
        event: AuditEvent::MetadataImported {
            no: imported.no,
            next_update: imported.next_update.clone(),
            models: imported.models as u64,
            compromised_models: imported.compromised_models as u64,
            by: by.to_owned(),
        },
        ip: None,
    };
    audit::append(&mut tx, &entry, now).await?;
    tx.commit().await?;
    crate::metrics::keys_suspended(imported.suspended.len());
    Ok(imported)
}

/// Why a fetch imported nothing.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The request failed or was refused.
    #[error("fetching {url}: {error}")]
    Http {
        /// Where from.
        url: String,
        /// What went wrong.
        error: String,
    },
    /// The BLOB was fetched but not imported.
    #[error(transparent)]
    Import(#[from] ImportError),
}

/// The largest BLOB accepted (the real one is a few MB).
const MAX_BLOB_BYTES: usize = 64 << 20;

/// Fetches the BLOB at `url` and imports it. `Ok(None)`: it is the BLOB in
/// use (or older), which is the usual answer between publications.
pub async fn fetch_and_import(
    db: &Db,
    config: &Config,
    url: &url::Url,
    now: Millis,
) -> Result<Option<Imported>, FetchError> {
    let http = |error: String| FetchError::Http {
        url: url.to_string(),
        error,
    };
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .user_agent(concat!("keyward/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| http(e.to_string()))?;
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| http(e.to_string()))?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| http(e.to_string()))? {
        if body.len() + chunk.len() > MAX_BLOB_BYTES {
            return Err(http(format!("larger than {MAX_BLOB_BYTES} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(body).map_err(|_| http("not text".into()))?;
    match import(db, config, &text, now, "fetch").await {
        Ok(done) => Ok(Some(done)),
        Err(ImportError::NotNewer { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Whether `next_update` (an ISO date) is before the day of `now`.
pub fn is_overdue(next_update: &str, now: Millis) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let Ok(due) = time::Date::parse(next_update.trim(), format) else {
        // An unreadable date cannot promise freshness.
        return true;
    };
    let today = time::OffsetDateTime::from_unix_timestamp(now / 1000)
        .map(|t| t.date())
        .unwrap_or(time::Date::MIN);
    today > due
}

/// The stored form of a model.
fn model_row(m: &ModelMetadata) -> ModelRow {
    ModelRow {
        aaguid: m.aaguid,
        description: m.description.clone(),
        status: m.latest_status().map(str::to_owned),
        certification: m.certification().map(|c| format!("{c:?}")),
        model_json: serde_json::to_string(m).unwrap_or_default(),
    }
}

/// Every stored model, for the attestation policy. A row that no longer
/// parses is skipped with a warning (it then trusts nothing).
pub async fn models(db: &Db) -> Result<Vec<ModelMetadata>, sqlx::Error> {
    Ok(store::models(db)
        .await?
        .into_iter()
        .filter_map(|row| match serde_json::from_str(&row.model_json) {
            Ok(model) => Some(model),
            Err(e) => {
                tracing::warn!(aaguid = %row.aaguid, error = %e, "stored metadata model unreadable");
                None
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overdue_is_after_the_due_day() {
        // 2026-12-06T12:00:00Z
        let now: Millis = 1_796_558_400_000;
        assert!(!is_overdue("2026-12-06", now));
        assert!(!is_overdue("2027-01-01", now));
        assert!(is_overdue("2026-12-05", now));
        assert!(is_overdue("soon", now));
    }
}
