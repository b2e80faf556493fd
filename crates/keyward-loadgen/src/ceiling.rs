//! The crypto ceiling, measured in process on one core: how many
//! `finish_securitykey_authentication` calls (webauthn-rs, through
//! keyward-fido, ES256 assertions from a soft key) and how many argon2id
//! verifications at the configured parameters one core does per second.
//! A scenario's ratio is its throughput over this rate × the server's cores.

use std::time::{Duration, Instant};

use keyward_access::password::{HashMemory, PasswordHasher, PasswordParams};
use keyward_fido::wire::PublicKeyCredential;
use keyward_fido::{AttestationPolicy, Fido, RelyingParty, UserVerification};
use keyward_testkit::SoftKey;
use secrecy::SecretString;
use uuid::Uuid;

/// Per-core rates.
#[derive(Debug, Clone, Copy)]
pub struct Ceiling {
    /// Assertion verifications per second on one core.
    pub webauthn_per_core: f64,
    /// argon2id verifications per second on one core.
    pub argon2_per_core: f64,
}

/// Assertions verified per second by webauthn-rs on this thread, over about
/// `window` (states and assertions are made beforehand, outside the timing).
pub fn webauthn_rate(rp: &RelyingParty, window: Duration) -> anyhow::Result<f64> {
    let fido = Fido::new(rp, AttestationPolicy::Any)?;
    let origin = rp.origin.as_str().trim_end_matches('/').to_owned();
    let user_id = Uuid::new_v4();
    let (options, state) = fido.start_registration(user_id, "ceiling", vec![], false)?;
    let mut soft = SoftKey::new();
    let response = soft.try_register_with(
        &serde_json::to_value(&options)?,
        &origin,
        &Default::default(),
    )?;
    let key = fido
        .finish_registration(&serde_json::from_value(response)?, &state)?
        .key;
    let keys = [key];
    let mut done = 0_u64;
    let mut spent = Duration::ZERO;
    while spent < window {
        let mut batch = Vec::with_capacity(64);
        for _ in 0..64 {
            let (options, state) = fido.start_authentication(&keys, UserVerification::Required)?;
            let answer = soft.try_assert_with(
                &serde_json::to_value(&options)?,
                &origin,
                &Default::default(),
            )?;
            let answer: PublicKeyCredential = serde_json::from_value(answer)?;
            batch.push((answer, state));
        }
        let started = Instant::now();
        for (answer, state) in &batch {
            fido.finish_authentication(answer, state, UserVerification::Required, user_id)?;
        }
        spent += started.elapsed();
        done += batch.len() as u64;
    }
    Ok(done as f64 / spent.as_secs_f64())
}

/// argon2id verifications per second on this thread at `params`, reusing
/// one working memory as the server's hashing threads do.
pub fn argon2_rate(params: PasswordParams, window: Duration) -> anyhow::Result<f64> {
    let hasher = PasswordHasher::new(params)?;
    let mut memory = HashMemory::default();
    let password = SecretString::from("load generator password");
    let hash = hasher.hash(&password, &[])?;
    let started = Instant::now();
    let mut done = 0_u64;
    while started.elapsed() < window || done < 3 {
        anyhow::ensure!(
            hasher.verify_with(Some(&hash), &password, &mut memory),
            "argon2 verify failed"
        );
        done += 1;
    }
    Ok(done as f64 / started.elapsed().as_secs_f64())
}

/// Both rates, on a blocking thread (each over `window`).
pub async fn measure(
    rp: RelyingParty,
    params: PasswordParams,
    window: Duration,
) -> anyhow::Result<Ceiling> {
    tokio::task::spawn_blocking(move || {
        Ok(Ceiling {
            webauthn_per_core: webauthn_rate(&rp, window)?,
            argon2_per_core: argon2_rate(params, window)?,
        })
    })
    .await?
}
