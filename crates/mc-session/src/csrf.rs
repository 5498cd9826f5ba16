//! Per-session CSRF tokens, for forms (the synchronizer pattern, without storage).
//!
//! A token is an HMAC of the session id under a key derived from the signing key, so it is
//! bound to the session: a token copied from the attacker's own session is worthless in the
//! victim's, and it changes when the id does ([`crate::Session::regenerate`]). A visitor
//! without a session yet (sessions are created lazily, on the first write) gets a token bound
//! to a random anchor kept in a signed, `HttpOnly`, `SameSite=Strict` cookie; that cookie is
//! only ever set when a form is rendered, never by a rejected request.
//!
//! The token is the second line of defence: [`crate::SessionLayer`] already refuses
//! cross-origin state-changing requests by their `Sec-Fetch-Site` and `Origin` headers. The
//! token also covers browsers that send neither.

use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tower_cookies::Key;

type HmacSha256 = Hmac<Sha256>;

/// The key tokens are computed with: derived from the cookie signing key so that no token can
/// ever equal a cookie signature.
#[derive(Clone)]
pub(crate) struct TokenKey([u8; 32]);

impl TokenKey {
    pub(crate) fn derive(signing: &Key) -> TokenKey {
        let mut mac = new_mac(signing.signing());
        mac.update(b"mc-session csrf token key v1");
        TokenKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, anchor: &str) -> HmacSha256 {
        let mut mac = new_mac(&self.0);
        mac.update(anchor.as_bytes());
        mac
    }

    /// The token for `anchor` (a session id, or a pre-session anchor).
    pub(crate) fn token(&self, anchor: &str) -> String {
        let tag = self.mac(anchor).finalize().into_bytes();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag)
    }

    /// True when `token` is the token for `anchor` (compared in constant time).
    pub(crate) fn verify(&self, anchor: &str, token: &str) -> bool {
        let Ok(tag) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        self.mac(anchor).verify_slice(&tag).is_ok()
    }
}

fn new_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length.
    match HmacSha256::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts every key length"),
    }
}

/// A fresh random pre-session anchor: 122 random bits, hex.
pub(crate) fn new_anchor() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_bound_to_their_anchor_and_key() {
        let key = TokenKey::derive(&Key::generate());
        let token = key.token("session-a");
        assert!(key.verify("session-a", &token));
        assert!(!key.verify("session-b", &token));
        assert!(!key.verify("session-a", &token[1..]));
        assert!(!key.verify("session-a", "not base64 !"));
        let other = TokenKey::derive(&Key::generate());
        assert!(!other.verify("session-a", &token));
    }
}
