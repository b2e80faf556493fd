//! Who is calling, as the flows see it (the HTTP layer fills it in, see
//! `extract`): address, user agent and device cookie, for the audit log and
//! throttling.

/// Who is calling: address and user agent (for the audit log and throttling).
#[derive(Debug, Clone)]
pub struct Client {
    /// Peer address.
    pub ip: String,
    /// `User-Agent`, truncated.
    pub user_agent: String,
    /// The device cookie, unverified ([`crate::device`]).
    pub device_cookie: Option<String>,
}
