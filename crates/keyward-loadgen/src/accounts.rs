//! Imported accounts (see `keyward_loadgen::bulk`) handed out to workers in
//! slots spread over the imported range; no two workers share a slot (and
//! so an account and its key's counter).

use std::time::{Duration, Instant};

use keyward_loadgen::bulk;
use keyward_testkit::SoftKey;
use serde_json::{Value, json};

use crate::web::Browser;

/// Where the imported accounts are.
#[derive(Debug, Clone, clap::Args)]
pub struct Imported {
    /// Seed the accounts were derived from (`bulk-file --seed`).
    #[arg(long, default_value = "keyward-bench")]
    pub seed: String,
    /// Username prefix (`bulk-file --prefix`).
    #[arg(long, default_value = "bulk")]
    pub prefix: String,
    /// Keys per account (`bulk-file --keys`).
    #[arg(long, default_value_t = 2)]
    pub keys: u32,
    /// How many imported accounts to spread the load over.
    #[arg(long, default_value_t = 1000)]
    pub accounts: u64,
    /// Index of the first account to use.
    #[arg(long, default_value_t = 0)]
    pub first: u64,
}

/// The password every synthetic account shares.
pub const PASSWORD: &str = "load generator password";

/// One account a worker drives.
pub struct Account {
    /// Username.
    pub username: String,
    /// Its derived software key.
    pub key: SoftKey,
}

impl Imported {
    /// The account in slot `slot` of `slots`: the slots are spread evenly
    /// over the imported range, so a million stored accounts are all in play
    /// (with fewer accounts than slots, slots share accounts: keep
    /// `--accounts` ≥ the concurrency × 64 for sign-ins).
    pub fn account(&self, slot: u64, slots: u64, rp_id: &str) -> anyhow::Result<Account> {
        let stride = (self.accounts / slots.max(1)).max(1);
        let index = self.first + (slot * stride) % self.accounts.max(1);
        Ok(Account {
            username: bulk::username(&self.prefix, index),
            key: bulk::soft_key(&self.seed, index, self.keys, rp_id, bulk::fresh_counter())?,
        })
    }
}

/// Signs `account` in on `browser` (password, then a key assertion).
/// Returns how long each request took: `password`, `key options`,
/// `key verify`.
pub async fn sign_in(
    browser: &mut Browser,
    account: &mut Account,
    origin: &str,
) -> Result<Vec<(&'static str, Duration)>, String> {
    let started = Instant::now();
    let body = json!({ "username": account.username, "password": PASSWORD });
    browser
        .post("password", "/v1/signin/password", &body)
        .await?;
    let password = started.elapsed();
    let options = browser
        .post("key options", "/v1/signin/key/options", &json!({}))
        .await?;
    let options_took = started.elapsed() - password;
    let credential = assert(&mut account.key, &options, origin)?;
    let body = json!({ "ceremony": options["ceremony"], "credential": credential });
    let verifying = Instant::now();
    browser
        .post("key verify", "/v1/signin/key/verify", &body)
        .await?;
    Ok(vec![
        ("password", password),
        ("key options", options_took),
        ("key verify", verifying.elapsed()),
    ])
}

/// The soft key's answer to `options`.
pub fn assert(key: &mut SoftKey, options: &Value, origin: &str) -> Result<Value, String> {
    key.try_assert_with(options, origin, &Default::default())
        .map_err(|e| format!("soft key: {e}"))
}
