//! Where an exchange keeps the key chains it pinned: one [`Pin`] per user
//! (the chain's genesis and the head it last verified). The exchange owns
//! this store — it is what makes Keyward's database untrusted — so it lives
//! on the exchange's side: in memory for tests, in a file, or in the
//! exchange's own database through [`PinStore`].

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use keyward_proof::Pin;

/// Why a pin store could not read or write.
#[derive(Debug, thiserror::Error)]
#[error("pin store: {0}")]
pub struct PinStoreError(pub String);

/// A store of pinned key chains, keyed by the username the exchange asks
/// Keyward about.
///
/// Implementations must make `put` durable before returning: a pin lost
/// after an approval was paid lets a rewritten chain be taken on first use
/// again.
pub trait PinStore: Send + Sync {
    /// The user's pin, if the exchange has one.
    fn get(&self, user: &str) -> Result<Option<Pin>, PinStoreError>;
    /// Records the user's pin (replacing the one before).
    fn put(&self, user: &str, pin: &Pin) -> Result<(), PinStoreError>;
}

/// Pins in memory (tests, or a process that re-pins on start).
#[derive(Debug, Default)]
pub struct MemoryPins(Mutex<BTreeMap<String, Pin>>);

impl PinStore for MemoryPins {
    fn get(&self, user: &str) -> Result<Option<Pin>, PinStoreError> {
        let pins = self
            .0
            .lock()
            .map_err(|_| PinStoreError("poisoned".into()))?;
        Ok(pins.get(user).cloned())
    }

    fn put(&self, user: &str, pin: &Pin) -> Result<(), PinStoreError> {
        let mut pins = self
            .0
            .lock()
            .map_err(|_| PinStoreError("poisoned".into()))?;
        pins.insert(user.to_owned(), pin.clone());
        Ok(())
    }
}

/// Pins in one JSON file (`{"<user>": {"user": .., "genesis": .., "head":
/// .., "seq": ..}}`), rewritten whole through a temporary file, synced and
/// renamed, so a crash leaves the old file or the new one.
#[derive(Debug)]
pub struct FilePins {
    path: PathBuf,
    lock: Mutex<()>,
}

impl FilePins {
    /// Pins kept at `path` (created on the first `put`).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    fn read(path: &Path) -> Result<BTreeMap<String, Pin>, PinStoreError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| PinStoreError(format!("{}: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(PinStoreError(format!("{}: {e}", path.display()))),
        }
    }
}

impl PinStore for FilePins {
    fn get(&self, user: &str) -> Result<Option<Pin>, PinStoreError> {
        let _held = self
            .lock
            .lock()
            .map_err(|_| PinStoreError("poisoned".into()))?;
        Ok(Self::read(&self.path)?.remove(user))
    }

    fn put(&self, user: &str, pin: &Pin) -> Result<(), PinStoreError> {
        let _held = self
            .lock
            .lock()
            .map_err(|_| PinStoreError("poisoned".into()))?;
        let mut pins = Self::read(&self.path)?;
        pins.insert(user.to_owned(), pin.clone());
        let io = |e: std::io::Error| PinStoreError(format!("{}: {e}", self.path.display()));
        let json = serde_json::to_vec_pretty(&pins).map_err(|e| PinStoreError(e.to_string()))?;
        let temp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&temp).map_err(io)?;
        file.write_all(&json).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temp, &self.path).map_err(io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin(seq: u64) -> Pin {
        Pin {
            user: uuid::Uuid::nil(),
            genesis: "g".into(),
            head: format!("h{seq}"),
            seq,
        }
    }

    #[test]
    fn both_stores_keep_the_latest_pin_per_user() {
        let dir = tempfile::tempdir().unwrap();
        let stores: [Box<dyn PinStore>; 2] = [
            Box::new(MemoryPins::default()),
            Box::new(FilePins::new(dir.path().join("pins.json"))),
        ];
        for store in stores {
            assert_eq!(store.get("alice").unwrap(), None);
            store.put("alice", &pin(0)).unwrap();
            store.put("alice", &pin(1)).unwrap();
            store.put("bob", &pin(0)).unwrap();
            assert_eq!(store.get("alice").unwrap(), Some(pin(1)));
            assert_eq!(store.get("bob").unwrap(), Some(pin(0)));
        }
        // The file survives the process: a new store reads it back.
        let again = FilePins::new(dir.path().join("pins.json"));
        assert_eq!(again.get("alice").unwrap(), Some(pin(1)));
    }
}
