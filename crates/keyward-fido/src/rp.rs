//! The relying party: which site the keys are bound to.

use url::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

use crate::FidoError;

/// The relying party's identity. The origin is the exact scheme://host:port
/// browsers will report; the rp id is the registrable domain keys bind to.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    /// Relying party id, e.g. `localhost` or `exchange.example`.
    pub id: String,
    /// The origin browsers use, e.g. `https://exchange.example`.
    pub origin: Url,
    /// Human-readable name shown by some authenticators.
    pub name: String,
}

impl RelyingParty {
    /// Builds the webauthn-rs verifier, refusing configurations where the
    /// origin's host is not the rp id or a subdomain of it (browsers would
    /// refuse every ceremony).
    pub fn build(&self) -> Result<Webauthn, FidoError> {
        let host = self
            .origin
            .host_str()
            .ok_or_else(|| FidoError::Config(format!("origin `{}` has no host", self.origin)))?;
        let bound = host == self.id || host.ends_with(&format!(".{}", self.id));
        if !bound {
            return Err(FidoError::Config(format!(
                "origin host `{host}` is not rp_id `{}` or a subdomain of it; \
                 set rp_id to the origin's (registrable) domain",
                self.id
            )));
        }
        if self.origin.scheme() != "https" && host != "localhost" {
            return Err(FidoError::Config(format!(
                "origin `{}` must use https (only localhost may use http)",
                self.origin
            )));
        }
        WebauthnBuilder::new(&self.id, &self.origin)
            .and_then(|b| b.rp_name(&self.name).build())
            .map_err(|e| FidoError::Config(format!("webauthn-rs refused rp_id/origin: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(id: &str, origin: &str) -> RelyingParty {
        RelyingParty {
            id: id.into(),
            origin: Url::parse(origin).unwrap(),
            name: "Keyward".into(),
        }
    }

    #[test]
    fn localhost_over_http_is_fine() {
        assert!(rp("localhost", "http://localhost:8080").build().is_ok());
    }

    #[test]
    fn subdomain_origin_is_fine() {
        assert!(
            rp("exchange.example", "https://auth.exchange.example")
                .build()
                .is_ok()
        );
    }

    #[test]
    fn mismatched_origin_is_refused_with_a_hint() {
        let err = rp("exchange.example", "https://evil.example")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("set rp_id"), "{err}");
    }

    #[test]
    fn plain_http_off_localhost_is_refused() {
        assert!(
            rp("exchange.example", "http://exchange.example")
                .build()
                .is_err()
        );
    }
}
