//! HTTP as the load generator speaks it: a browser (Origin header, cookies
//! kept by hand so one pooled client serves every worker) and the exchange's
//! back end (bearer service key). Errors come back as a short kind
//! (`"verify: http 409"`) for the per-scenario error counts.

use std::collections::BTreeMap;

use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use serde_json::Value;

/// Sends `req`; the JSON body (null if empty) or the error kind.
async fn send(
    what: &str,
    req: reqwest::RequestBuilder,
) -> Result<(Value, reqwest::header::HeaderMap), String> {
    let resp = req.send().await.map_err(|e| {
        let kind = if e.is_timeout() {
            "timeout"
        } else if e.is_connect() {
            "connect"
        } else {
            "transport"
        };
        format!("{what}: {kind}")
    })?;
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .bytes()
        .await
        .map_err(|_| format!("{what}: transport"))?;
    if !status.is_success() {
        let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let kind = problem["type"]
            .as_str()
            .and_then(|t| t.rsplit('/').next())
            .map(|t| format!(" {t}"))
            .unwrap_or_default();
        return Err(format!("{what}: http {}{kind}", status.as_u16()));
    }
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).map_err(|_| format!("{what}: bad json"))?
    };
    Ok((body, headers))
}

/// One browser: its cookies and the origin it sends.
pub struct Browser {
    client: reqwest::Client,
    base: String,
    origin: String,
    cookies: BTreeMap<String, String>,
}

impl Browser {
    /// A browser with no cookies.
    pub fn new(client: &reqwest::Client, base: &str, origin: &str) -> Self {
        Self {
            client: client.clone(),
            base: base.to_owned(),
            origin: origin.to_owned(),
            cookies: BTreeMap::new(),
        }
    }

    /// `POST {base}{path}` with a JSON body; `what` names the step in errors.
    pub async fn post(&mut self, what: &str, path: &str, body: &Value) -> Result<Value, String> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(ORIGIN, &self.origin)
            .json(body);
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(COOKIE, jar.join("; "));
        }
        let (body, headers) = send(what, req).await?;
        for set in headers.get_all(SET_COOKIE) {
            let Some(pair) = set.to_str().ok().and_then(|s| s.split(';').next()) else {
                continue;
            };
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies
                    .insert(name.trim().to_owned(), value.trim().to_owned());
            }
        }
        Ok(body)
    }
}

/// The exchange's back end.
#[derive(Clone)]
pub struct Service {
    client: reqwest::Client,
    base: String,
    auth: String,
}

impl Service {
    /// A back end using `token` (a service key).
    pub fn new(client: &reqwest::Client, base: &str, token: &str) -> Self {
        Self {
            client: client.clone(),
            base: base.to_owned(),
            auth: format!("Bearer {token}"),
        }
    }

    /// `POST {base}{path}` with a JSON body, or none if `body` is null.
    pub async fn post(&self, what: &str, path: &str, body: &Value) -> Result<Value, String> {
        let mut req = self
            .client
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::AUTHORIZATION, &self.auth);
        if !body.is_null() {
            req = req.json(body);
        }
        send(what, req).await.map(|(b, _)| b)
    }
}
