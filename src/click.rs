//! Signed click ids: minted by `GET /click`, verified by every postback
//! without a storage lookup.
//!
//! Format (documented in the README so that an origin can mint them too):
//! `base64url_nopad(payload ‖ tag)` where
//!
//! ```text
//! payload = version:u8 (=1) ‖ time:u32 BE (Unix seconds) ‖ country:2 ASCII
//!         ‖ nonce:4 bytes ‖ lens:u8 (campaign len << 4 | partner len)
//!         ‖ campaign id ‖ partner id
//! tag     = HMAC-SHA256(CLICK_SIGNING_KEY, payload)[..12]   (96 bits)
//! ```
//!
//! With ids of at most 12 characters each, a token is at most 48 bytes, 64
//! characters.

use crate::ids::{CampaignId, PartnerId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const TAG_LEN: usize = 12;
const FIXED_LEN: usize = 1 + 4 + 2 + 4 + 1;
/// Longest token, in characters.
pub const MAX_TOKEN_LEN: usize = 64;

/// The key clicks are signed with (the secret `CLICK_SIGNING_KEY`).
#[derive(Clone)]
pub struct ClickKey(Hmac<Sha256>);

impl ClickKey {
    /// HMAC accepts keys of any length; an empty key is refused so that a
    /// missing secret cannot silently sign clicks.
    pub fn new(secret: &[u8]) -> Option<ClickKey> {
        if secret.is_empty() {
            return None;
        }
        Hmac::<Sha256>::new_from_slice(secret).ok().map(ClickKey)
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.0.clone();
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

/// A two-letter country code, `XX` when unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Country([u8; 2]);

impl Country {
    pub const UNKNOWN: Country = Country(*b"XX");

    /// An ISO 3166-1 alpha-2 code in any case; anything else is `XX`.
    pub fn from_code(code: &str) -> Country {
        match code.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Country([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
            }
            _ => Country::UNKNOWN,
        }
    }

    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII letters.
        std::str::from_utf8(&self.0).unwrap_or("XX")
    }
}

/// What a click id says about its click, once its signature verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub campaign: CampaignId,
    pub partner: PartnerId,
    /// Unix seconds.
    pub time: u32,
    pub country: Country,
    pub nonce: [u8; 4],
}

impl Click {
    /// The click id for this click, signed with `key`.
    pub fn mint(&self, key: &ClickKey) -> String {
        let campaign = self.campaign.as_str().as_bytes();
        let partner = self.partner.as_str().as_bytes();
        let mut bytes = Vec::with_capacity(FIXED_LEN + campaign.len() + partner.len() + TAG_LEN);
        bytes.push(VERSION);
        bytes.extend_from_slice(&self.time.to_be_bytes());
        bytes.extend_from_slice(&self.country.0);
        bytes.extend_from_slice(&self.nonce);
        // Ids are at most 12 bytes (ids.rs), so each length fits a nibble.
        bytes.push(((campaign.len() as u8) << 4) | partner.len() as u8);
        bytes.extend_from_slice(campaign);
        bytes.extend_from_slice(partner);
        let tag = key.tag(&bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// The click a click id stands for, if `key` signed it. `None` for
    /// anything else: malformed, truncated, tampered or signed by another
    /// key. The tag is compared in constant time.
    pub fn verify(token: &str, key: &ClickKey) -> Option<Click> {
        if token.len() > MAX_TOKEN_LEN {
            return None;
        }
        // 64 base64 characters are at most 48 bytes: decoded on the stack.
        let mut buffer = [0u8; MAX_TOKEN_LEN / 4 * 3];
        let len = URL_SAFE_NO_PAD.decode_slice(token, &mut buffer).ok()?;
        let bytes = &buffer[..len];
        if bytes.len() < FIXED_LEN + 2 + TAG_LEN {
            return None;
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let expected = key.tag(payload);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], tag)) {
            return None;
        }
        Click::read_payload(payload)
    }

    fn read_payload(payload: &[u8]) -> Option<Click> {
        let (&version, rest) = payload.split_first()?;
        if version != VERSION {
            return None;
        }
        let (time, rest) = rest.split_first_chunk::<4>()?;
        let (country, rest) = rest.split_first_chunk::<2>()?;
        let (nonce, rest) = rest.split_first_chunk::<4>()?;
        let (&lens, ids) = rest.split_first()?;
        let (campaign_len, partner_len) = ((lens >> 4) as usize, (lens & 0x0f) as usize);
        if ids.len() != campaign_len + partner_len {
            return None;
        }
        let (campaign, partner) = ids.split_at(campaign_len);
        Some(Click {
            campaign: CampaignId::parse(std::str::from_utf8(campaign).ok()?)?,
            partner: PartnerId::parse(std::str::from_utf8(partner).ok()?)?,
            time: u32::from_be_bytes(*time),
            country: Country::from_code(std::str::from_utf8(country).ok()?),
            nonce: *nonce,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secret: &str) -> ClickKey {
        ClickKey::new(secret.as_bytes()).unwrap()
    }

    fn click(campaign: &str, partner: &str) -> Click {
        Click {
            campaign: CampaignId::parse(campaign).unwrap(),
            partner: PartnerId::parse(partner).unwrap(),
            time: 1_790_000_000,
            country: Country::from_code("de"),
            nonce: [1, 2, 3, 4],
        }
    }

    #[test]
    fn round_trips_and_stays_within_64_url_safe_characters() {
        let k = key("test-key");
        for (c, p) in [("1001", "77"), ("a", "b"), ("123456789012", "abcdefghijkl")] {
            let original = click(c, p);
            let token = original.mint(&k);
            assert!(
                token.len() <= MAX_TOKEN_LEN,
                "{token} is {} long",
                token.len()
            );
            assert!(token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            assert_eq!(Click::verify(&token, &k), Some(original));
        }
    }

    #[test]
    fn carries_country() {
        let token = click("1001", "77").mint(&key("k"));
        let verified = Click::verify(&token, &key("k")).unwrap();
        assert_eq!(verified.country.as_str(), "DE");
        assert_eq!(Country::from_code("").as_str(), "XX");
        assert_eq!(Country::from_code("T1").as_str(), "XX");
    }

    #[test]
    fn another_key_does_not_verify() {
        let token = click("1001", "77").mint(&key("one"));
        assert_eq!(Click::verify(&token, &key("two")), None);
    }

    #[test]
    fn tampered_tokens_do_not_verify() {
        let k = key("k");
        let token = click("1001", "77").mint(&k);
        // Flip every character in turn to another URL-safe one.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                assert_eq!(Click::verify(&tampered, &k), None, "position {i}");
            }
        }
    }

    #[test]
    fn truncated_or_extended_tokens_do_not_verify() {
        let k = key("k");
        let token = click("1001", "77").mint(&k);
        for len in 0..token.len() {
            assert_eq!(Click::verify(&token[..len], &k), None, "length {len}");
        }
        assert_eq!(Click::verify(&format!("{token}A"), &k), None);
        assert_eq!(Click::verify(&format!("{token}="), &k), None);
    }

    #[test]
    fn another_campaign_is_a_different_signature() {
        let k = key("k");
        let a = click("1001", "77").mint(&k);
        let b = click("1002", "77").mint(&k);
        assert_ne!(a, b);
        assert_eq!(Click::verify(&b, &k).unwrap().campaign.as_str(), "1002");
    }

    #[test]
    fn junk_does_not_verify() {
        let k = key("k");
        for junk in [
            "",
            "x",
            "!!!!",
            "💥",
            &"A".repeat(64),
            &"A".repeat(65),
            "AAAA.AAAA",
        ] {
            assert_eq!(Click::verify(junk, &k), None, "{junk:?}");
        }
    }

    #[test]
    fn empty_key_is_refused() {
        assert!(ClickKey::new(b"").is_none());
    }
}
