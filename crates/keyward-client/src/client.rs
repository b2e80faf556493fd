//! [`KeywardClient`]: the service API over HTTP with a bearer service key.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::JwkSet;
use keyward_api::events::{EventPage, SecurityEventClaims};
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{Method, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use crate::approval::{self, ApprovalClaims, JwksCache};
use crate::error::{self, Error, TokenError};
use crate::types::{CreateStepUp, Redeemed, StepUp, VerifiedKey, VerifyApiKey};

/// Default per-request timeout of the built-in HTTP client.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default minimum time between JWKS refetches for unknown `kid`s.
const DEFAULT_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// How long a fetched JWKS is trusted before it is fetched again.
const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(600);

/// A client for Keyward's service API, for an exchange's back end.
///
/// It holds one service key (`kw_svc_…`, sent as `Authorization: Bearer`)
/// and a cache of the approval-token JWKS. Cheap to share: wrap it in an
/// `Arc` or keep one per process. The key never appears in `Debug`.
pub struct KeywardClient {
    http: reqwest::Client,
    base: Url,
    auth: HeaderValue,
    issuer: String,
    leeway: u64,
    refetch_interval: Duration,
    jwks_max_age: Duration,
    jwks: JwksCache,
}

impl std::fmt::Debug for KeywardClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeywardClient")
            .field("base", &self.base.as_str())
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

impl KeywardClient {
    /// A client for the Keyward at `base_url` (e.g. `https://auth.exchange.example`)
    /// authenticating with `service_key`. Approval tokens are expected to be
    /// issued by `base_url`'s origin; see [`KeywardClient::with_issuer`].
    ///
    /// The built-in HTTP client has a 30-second timeout and no TLS backend
    /// of its own; for https, enable one of `reqwest`'s TLS features in your
    /// build and/or pass your client with [`KeywardClient::with_http_client`].
    pub fn new(base_url: &str, service_key: &str) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(DEFAULT_TIMEOUT)
            .build()?;
        Self::with_http_client(http, base_url, service_key)
    }

    /// Like [`KeywardClient::new`] with a caller-built `reqwest::Client`
    /// (TLS roots, proxies, timeouts).
    pub fn with_http_client(
        http: reqwest::Client,
        base_url: &str,
        service_key: &str,
    ) -> Result<Self, Error> {
        let base = Url::parse(base_url).map_err(|e| Error::InvalidUrl(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(Error::InvalidUrl("must be an http(s) URL".into()));
        }
        let mut auth = HeaderValue::from_str(&format!("Bearer {service_key}"))
            .map_err(|_| Error::InvalidUrl("service key is not a valid header value".into()))?;
        auth.set_sensitive(true);
        let issuer = base.origin().ascii_serialization();
        Ok(Self {
            http,
            base,
            auth,
            issuer,
            leeway: 0,
            refetch_interval: DEFAULT_REFETCH_INTERVAL,
            jwks_max_age: DEFAULT_JWKS_MAX_AGE,
            jwks: JwksCache::default(),
        })
    }

    /// Expects approval tokens from `issuer` (Keyward's `token_issuer`)
    /// rather than the base URL's origin, e.g. when calling Keyward on an
    /// internal address.
    pub fn with_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = issuer.into();
        self
    }

    /// Tolerates this much clock skew (seconds) when checking a token's
    /// `exp` and `iat`. The default is none.
    pub fn with_clock_leeway(mut self, seconds: u64) -> Self {
        self.leeway = seconds;
        self
    }

    /// At most one JWKS refetch for an unknown `kid` per `interval` (default
    /// 10 seconds), so forged tokens cannot make the client flood Keyward.
    pub fn with_jwks_refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// Refetches Keyward's JWKS once the cached copy is this old (default
    /// 10 minutes), so a key Keyward no longer publishes stops verifying.
    /// If the refetch fails, tokens are refused (fail closed).
    pub fn with_jwks_max_age(mut self, max_age: Duration) -> Self {
        self.jwks_max_age = max_age;
        self
    }

    /// The issuer approval tokens must carry.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Asks `user` (id or username) to approve `action` (e.g. `withdrawal`)
    /// with these `details`. The answer is decided at once: `pending` (send
    /// the user to `confirm_url`), `held` or `denied` (see `reason`). A
    /// repeated `client_reference` returns the same step-up.
    pub async fn create_step_up(
        &self,
        user: &str,
        action: &str,
        details: Value,
    ) -> Result<StepUp, Error> {
        let body = CreateStepUp {
            user: user.to_owned(),
            action: action.to_owned(),
            details,
        };
        self.call(Method::POST, &["v1", "step-ups"], Some(&body))
            .await
    }

    /// The step-up's current state.
    pub async fn step_up(&self, id: Uuid) -> Result<StepUp, Error> {
        let id = id.to_string();
        self.call::<(), _>(Method::GET, &["v1", "step-ups", &id], None)
            .await
    }

    /// Polls [`step_up`](Self::step_up) every `poll_interval` until it is
    /// approved (returned), leaves `pending` otherwise ([`Error::Ended`]) or
    /// `timeout` passes ([`Error::Timeout`]). Approval still has to be
    /// [`redeem`](Self::redeem)ed before paying.
    pub async fn wait_for_approval(
        &self,
        id: Uuid,
        poll_interval: Duration,
        timeout: Duration,
    ) -> Result<StepUp, Error> {
        let deadline = tokio::time::Instant::now() + timeout;
        let poll_interval = poll_interval.max(Duration::from_millis(10));
        loop {
            if let Some(done) = crate::events::settled(self.step_up(id).await?) {
                return done;
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Err(Error::Timeout);
            }
            tokio::time::sleep(poll_interval.min(deadline - now)).await;
        }
    }

    /// Redeems the approval once, atomically, after Keyward's policy agrees
    /// again. Returns exactly what was approved: compare `digest` and
    /// `details` with what you are about to pay. A second call fails with
    /// [`Error::AlreadyRedeemed`].
    pub async fn redeem(&self, id: Uuid) -> Result<Redeemed, Error> {
        let id = id.to_string();
        self.call::<(), _>(Method::POST, &["v1", "step-ups", &id, "redeem"], None)
            .await
    }

    /// Redeems the approval once and verifies it without trusting Keyward:
    /// `verifier` checks that `user`'s own key, one in the chain the
    /// exchange pinned, signed exactly `action` with `details` — the ones
    /// you asked for, hashed here — and moves the pin forward. Nothing else
    /// is fetched. Pay only on `Ok`; a redeemed approval whose evidence does
    /// not verify is [`Error::Unverified`] (or [`Error::ChainRestarted`])
    /// and must not be paid.
    pub async fn redeem_verified(
        &self,
        id: Uuid,
        user: &str,
        action: &str,
        details: &Value,
        verifier: &crate::Verifier,
    ) -> Result<(Redeemed, crate::VerifiedApproval), Error> {
        let redeemed = self.redeem(id).await?;
        let evidence = redeemed.evidence.as_ref().ok_or(Error::Unverified {
            reason: "missing_evidence",
            detail: "the redeemed approval carries no evidence".into(),
        })?;
        let verified = verifier.verify(user, action, details, evidence)?;
        Ok((redeemed, verified))
    }

    /// Checks a user API key for `scope` (`read`, `trade`, `withdraw`) from
    /// `client_ip`. A refusal is [`Error::ApiKeyRefused`] with the reason.
    pub async fn verify_api_key(
        &self,
        key: &str,
        scope: &str,
        client_ip: &str,
    ) -> Result<VerifiedKey, Error> {
        let body = VerifyApiKey {
            key: key.to_owned(),
            scope: scope.to_owned(),
            client_ip: client_ip.to_owned(),
        };
        self.call(Method::POST, &["v1", "api-keys", "verify"], Some(&body))
            .await
    }

    /// Verifies an approval token offline: EdDSA signature by a key of
    /// Keyward's JWKS (cached for at most the JWKS max age; refetched once
    /// when the token names a key not in the cache, as after a rotation),
    /// issuer, audience
    /// `keyward-step-up`, and expiry. Then check it with
    /// [`approval_matches`](crate::approval_matches).
    pub async fn verify_approval(&self, token: &str) -> Result<ApprovalClaims, Error> {
        let key = self.key(&approval::token_kid(token)?).await?;
        Ok(approval::decode(token, &key, &self.issuer, self.leeway)?)
    }

    /// Verifies a Security Event Token (pushed to your webhook, or from
    /// [`events`](Self::events)): `typ` `secevent+jwt`, EdDSA signature by
    /// a key of Keyward's JWKS (as [`verify_approval`](Self::verify_approval)
    /// fetches it), this Keyward's issuer, and `audience` — your webhook's
    /// configured audience, or your service key's name when polling. Keep
    /// order and drop repeats with [`EventOrder`](crate::EventOrder).
    pub async fn verify_event(
        &self,
        set: &str,
        audience: &str,
    ) -> Result<SecurityEventClaims, Error> {
        let key = self.key(&crate::events::event_kid(set)?).await?;
        Ok(crate::events::decode(set, &key, &self.issuer, audience)?)
    }

    /// Security events after position `after` (0: the start), as signed
    /// tokens addressed to this service key (scope `events:read`); read on
    /// from the page's `next`.
    pub async fn events(&self, after: i64, limit: u32) -> Result<EventPage, Error> {
        let mut url = self.url(&["v1", "events"])?;
        url.query_pairs_mut()
            .append_pair("after", &after.to_string())
            .append_pair("limit", &limit.to_string());
        let resp = self
            .http
            .get(url)
            .header(AUTHORIZATION, self.auth.clone())
            .send()
            .await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            return Err(error::from_response(status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|_| Error::Http {
            status: status.as_u16(),
            type_: "about:blank".to_owned(),
            detail: Some("unreadable event page".to_owned()),
        })
    }

    /// The JWKS key named `kid` (cached for at most the JWKS max age;
    /// refetched once when the cache lacks it, as after a rotation).
    async fn key(&self, kid: &str) -> Result<jsonwebtoken::DecodingKey, Error> {
        let (set, fresh) = match self.jwks.get(self.jwks_max_age) {
            Some(set) => (set, false),
            None => (self.fetch_jwks().await?, true),
        };
        Ok(match approval::find_key(&set, kid) {
            Err(TokenError::UnknownKey)
                if !fresh && self.jwks.may_refetch(self.refetch_interval) =>
            {
                let fresh = self.fetch_jwks().await?;
                approval::find_key(&fresh, kid)?
            }
            other => other?,
        })
    }

    /// Fetches `/.well-known/jwks.json` and caches it.
    async fn fetch_jwks(&self) -> Result<Arc<JwkSet>, Error> {
        let url = self.url(&[".well-known", "jwks.json"])?;
        let resp = self.http.get(url).send().await?;
        let status = resp.status();
        let bytes = resp.bytes().await?;
        if !status.is_success() {
            return Err(error::from_response(status.as_u16(), &bytes));
        }
        let set: JwkSet = serde_json::from_slice(&bytes).map_err(|_| TokenError::Jwks)?;
        let set = Arc::new(set);
        self.jwks.put(set.clone());
        Ok(set)
    }

    /// `base` joined with percent-encoded path segments.
    fn url(&self, segments: &[&str]) -> Result<Url, Error> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|()| Error::InvalidUrl("cannot be a base".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// One authenticated JSON call; error responses become [`Error`]s.
    async fn call<B: serde::Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
    ) -> Result<T, Error> {
        let mut req = self
            .http
            .request(method, self.url(segments)?)
            .header(AUTHORIZATION, self.auth.clone());
        if let Some(body) = body {
            req = req.json(body);
        }
        let resp = req.send().await?;
        let status = resp.status();
        if !status.is_success() {
            let bytes = resp.bytes().await?;
            return Err(error::from_response(status.as_u16(), &bytes));
        }
        Ok(resp.json().await?)
    }
}
