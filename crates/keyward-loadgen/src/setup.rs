//! Preparing load: a user with an enrolled software key and an API key,
//! through the public API exactly as a browser would.

use anyhow::{Context, bail};
use keyward_testkit::{Forge, SoftKey};
use serde_json::{Value, json};

async fn post(client: &reqwest::Client, url: String, body: Value) -> anyhow::Result<Value> {
    let resp = client
        .post(&url)
        .json(&body)
        .send()
        .await
        .with_context(|| format!("POST {url}"))?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        bail!("POST {url} -> {status}: {text}");
    }
    Ok(if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text)?
    })
}

/// Signs a fresh user up, enrols a soft key, and creates a read-scoped API
/// key through its key-approved step-up. Returns the key's secret.
pub async fn user_with_api_key(base: &str, origin: &str) -> anyhow::Result<String> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::ORIGIN, origin.parse()?);
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .default_headers(headers)
        .build()?;
    let mut key = SoftKey::new();
    let name = format!("load{}", std::process::id());
    post(
        &browser,
        format!("{base}/v1/signup"),
        json!({ "username": name, "password": "load generator password" }),
    )
    .await?;
    let options = post(
        &browser,
        format!("{base}/v1/keys/registration/options"),
        json!({}),
    )
    .await?;
    let credential = key.try_register_with(&options, origin, &Forge::default())?;
    let body =
        json!({ "ceremony": options["ceremony"], "label": "load", "credential": credential });
    post(
        &browser,
        format!("{base}/v1/keys/registration/verify"),
        body,
    )
    .await?;
    let details = json!({ "label": "load", "scopes": ["read"], "ip_allowlist": ["192.0.2.0/24"] });
    let step = post(
        &browser,
        format!("{base}/v1/api-keys/step-up"),
        details.clone(),
    )
    .await?;
    let id = step["step_up"]["id"]
        .as_str()
        .context("no step-up id")?
        .to_owned();
    let options = post(
        &browser,
        format!("{base}/v1/step-ups/{id}/options"),
        json!({}),
    )
    .await?;
    let credential = key.try_assert_with(&options, origin, &Forge::default())?;
    post(
        &browser,
        format!("{base}/v1/step-ups/{id}/verify"),
        json!({ "ceremony": options["ceremony"], "credential": credential }),
    )
    .await?;
    let mut create = details;
    create["step_up_id"] = json!(id);
    let created = post(&browser, format!("{base}/v1/api-keys"), create).await?;
    created["secret"]
        .as_str()
        .map(str::to_owned)
        .context("no secret in the create response")
}
