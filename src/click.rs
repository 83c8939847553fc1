//! Signed click ids: minted by `GET /click`, verified by every postback
//! without a storage lookup, under a list of keys that rotates.
//!
//! Format (documented in `docs/CLICK_IDS.md` so that an origin can mint
//! them too): `base64url_nopad(payload ‖ tag)` where
//!
//! ```text
//! payload = format:u8 ‖ time:u32 BE (Unix seconds) ‖ country:2 ASCII
//!         ‖ nonce:4 bytes ‖ lens:u8 (campaign len << 4 | partner len)
//!         ‖ campaign id ‖ partner id
//! tag     = HMAC-SHA256(key, payload)[..12]   (96 bits)
//! format  = 0x80 | key id   (keyed: the key id names the signing key)
//!         | 0x01            (the earlier one-key format, still verified)
//! key id  = SHA-256("postback-edge click key id" ‖ key)[0] & 0x7f
//! ```
//!
//! With ids of at most 12 characters each, a token is at most 48 bytes, 64
//! characters. The key id lives in the format byte so that a keyed token is
//! no longer than a one-key one.

use crate::ids::{CampaignId, PartnerId};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The format byte of the earlier one-key click ids, which name no key.
const UNKEYED: u8 = 1;
/// The high bit of a keyed click id's format byte; the low seven are the
/// key id.
const KEYED: u8 = 0x80;
const TAG_LEN: usize = 12;
const FIXED_LEN: usize = 1 + 4 + 2 + 4 + 1;
/// Longest token, in characters.
pub const MAX_TOKEN_LEN: usize = 64;
/// Most keys `CLICK_SIGNING_KEY` may list: rotation needs two, an overlap
/// of several rotations a few more.
pub const MAX_KEYS: usize = 16;

/// One key clicks are signed or verified with.
#[derive(Clone)]
pub struct ClickKey {
    mac: Hmac<Sha256>,
    id: u8,
}

impl ClickKey {
    /// HMAC accepts keys of any length; an empty key is refused so that a
    /// missing secret cannot silently sign clicks.
    pub fn new(secret: &[u8]) -> Option<ClickKey> {
        if secret.is_empty() {
            return None;
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).ok()?;
        let id = Sha256::new()
            .chain_update(b"postback-edge click key id")
            .chain_update(secret)
            .finalize()[0]
            & !KEYED;
        Some(ClickKey { mac, id })
    }

    /// The seven-bit id a keyed click id names this key by. Two keys share
    /// an id one time in 128: both then verify such ids (one HMAC each).
    pub fn id(&self) -> u8 {
        self.id
    }

    fn tag(&self, payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    fn signed(&self, payload: &[u8], tag: &[u8]) -> bool {
        subtle::ConstantTimeEq::ct_eq(&self.tag(payload)[..], tag).into()
    }
}

/// The keys of `CLICK_SIGNING_KEY`: the first signs new click ids, every
/// one verifies. Never empty.
#[derive(Clone)]
pub struct ClickKeys(Vec<ClickKey>);

/// Why `CLICK_SIGNING_KEY` cannot be used. Says what to fix, never the keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysError(&'static str);

impl std::fmt::Display for KeysError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

impl ClickKeys {
    /// The keys of a `CLICK_SIGNING_KEY` value: one or more, separated by
    /// whitespace, the signing key first.
    pub fn from_secret(secret: &str) -> Result<ClickKeys, KeysError> {
        let keys: Vec<ClickKey> = secret
            .split_whitespace()
            .filter_map(|k| ClickKey::new(k.as_bytes()))
            .collect();
        if keys.is_empty() {
            return Err(KeysError("CLICK_SIGNING_KEY lists no key"));
        }
        if keys.len() > MAX_KEYS {
            return Err(KeysError(
                "CLICK_SIGNING_KEY lists more than 16 keys: remove the oldest",
            ));
        }
        Ok(ClickKeys(keys))
    }

    /// A list of one key.
    pub fn one(key: ClickKey) -> ClickKeys {
        ClickKeys(vec![key])
    }

    /// The key new click ids are signed with.
    pub fn signing(&self) -> &ClickKey {
        // Never empty: both constructors hold at least one key.
        &self.0[0]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Why a click id does not verify (SPEC §4a: `detail.problem` of
/// `click_not_found`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClickProblem {
    /// Not a click id of any format: wrong characters, length or format
    /// byte.
    Malformed,
    /// Its key is listed but the signature does not verify: tampered,
    /// truncated, or signed by a key of the same id that is not listed.
    BadSignature,
    /// It names a key that `CLICK_SIGNING_KEY` no longer lists.
    UnknownKey,
}

impl ClickProblem {
    pub fn as_str(self) -> &'static str {
        match self {
            ClickProblem::Malformed => "malformed",
            ClickProblem::BadSignature => "bad_signature",
            ClickProblem::UnknownKey => "unknown_key",
        }
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
    /// The click id for this click, signed with the signing key of `keys`
    /// in the keyed format.
    pub fn mint(&self, keys: &ClickKeys) -> String {
        let key = keys.signing();
        self.mint_as(KEYED | key.id, key)
    }

    /// The click id in the earlier one-key format, which names no key:
    /// what ids minted before key rotation look like.
    pub fn mint_unkeyed(&self, key: &ClickKey) -> String {
        self.mint_as(UNKEYED, key)
    }

    fn mint_as(&self, format: u8, key: &ClickKey) -> String {
        let campaign = self.campaign.as_str().as_bytes();
        let partner = self.partner.as_str().as_bytes();
        let mut bytes = Vec::with_capacity(FIXED_LEN + campaign.len() + partner.len() + TAG_LEN);
        bytes.push(format);
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

    /// The click a click id stands for, if one of `keys` signed it, or why
    /// not. A keyed id costs one HMAC whatever the number of keys (its key
    /// id picks the key); an id of the one-key format names no key, so each
    /// key is tried until one verifies. Tags are compared in constant time.
    pub fn verify(token: &str, keys: &ClickKeys) -> Result<Click, ClickProblem> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(ClickProblem::Malformed);
        }
        // 64 base64 characters are at most 48 bytes: decoded on the stack.
        let mut buffer = [0u8; MAX_TOKEN_LEN / 4 * 3];
        let len = URL_SAFE_NO_PAD
            .decode_slice(token, &mut buffer)
            .map_err(|_| ClickProblem::Malformed)?;
        let bytes = &buffer[..len];
        if bytes.len() < FIXED_LEN + 2 + TAG_LEN {
            return Err(ClickProblem::Malformed);
        }
        let (payload, tag) = bytes.split_at(bytes.len() - TAG_LEN);
        let format = payload[0];
        let signed = if format == UNKEYED {
            keys.0.iter().any(|key| key.signed(payload, tag))
        } else if format & KEYED != 0 {
            let id = format & !KEYED;
            let mut named = keys.0.iter().filter(|key| key.id == id).peekable();
            if named.peek().is_none() {
                return Err(ClickProblem::UnknownKey);
            }
            named.any(|key| key.signed(payload, tag))
        } else {
            return Err(ClickProblem::Malformed);
        };
        if !signed {
            return Err(ClickProblem::BadSignature);
        }
        // Signed, yet unreadable: only a holder of the key could have made
        // it, and it is still no click id.
        Click::read_payload(payload).ok_or(ClickProblem::Malformed)
    }

    fn read_payload(payload: &[u8]) -> Option<Click> {
        let (_format, rest) = payload.split_first()?;
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

    fn keys(secret: &str) -> ClickKeys {
        ClickKeys::from_secret(secret).unwrap()
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
        let k = keys("test-key");
        for (c, p) in [("1001", "77"), ("a", "b"), ("123456789012", "abcdefghijkl")] {
            let original = click(c, p);
            for token in [original.mint(&k), original.mint_unkeyed(k.signing())] {
                assert!(
                    token.len() <= MAX_TOKEN_LEN,
                    "{token} is {} long",
                    token.len()
                );
                assert!(token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                assert_eq!(Click::verify(&token, &k), Ok(original.clone()));
            }
        }
    }

    #[test]
    fn carries_country() {
        let token = click("1001", "77").mint(&keys("k"));
        let verified = Click::verify(&token, &keys("k")).unwrap();
        assert_eq!(verified.country.as_str(), "DE");
        assert_eq!(Country::from_code("").as_str(), "XX");
        assert_eq!(Country::from_code("T1").as_str(), "XX");
    }

    /// Two keys whose ids differ, found by trying: the tests below need a
    /// removed key to be unknown, not a namesake.
    fn two_keys() -> (String, String) {
        let a = "key-a".to_owned();
        let b = (0..)
            .map(|i| format!("key-b{i}"))
            .find(|b| key(b).id() != key(&a).id())
            .unwrap();
        (a, b)
    }

    #[test]
    fn rotation_first_key_signs_every_key_verifies() {
        let (a, b) = two_keys();
        let before = click("1001", "77").mint(&keys(&a));
        let during = keys(&format!("{b} {a}"));
        // Minted under A: still converts once B is added in front.
        assert_eq!(Click::verify(&before, &during), Ok(click("1001", "77")));
        // New clicks are signed with B, which alone then verifies them.
        let after = click("1001", "77").mint(&during);
        assert_eq!(Click::verify(&after, &keys(&b)), Ok(click("1001", "77")));
        // With A removed, A's clicks name a key nobody lists.
        assert_eq!(
            Click::verify(&before, &keys(&b)),
            Err(ClickProblem::UnknownKey)
        );
    }

    #[test]
    fn unkeyed_ids_verify_under_any_listed_key() {
        let (a, b) = two_keys();
        let old = click("1001", "77").mint_unkeyed(&key(&a));
        assert_eq!(Click::verify(&old, &keys(&a)), Ok(click("1001", "77")));
        assert_eq!(
            Click::verify(&old, &keys(&format!("{b} {a}"))),
            Ok(click("1001", "77"))
        );
        // It names no key, so once its key is gone it is a bad signature.
        assert_eq!(
            Click::verify(&old, &keys(&b)),
            Err(ClickProblem::BadSignature)
        );
    }

    #[test]
    fn a_listed_key_id_with_another_key_is_a_bad_signature() {
        let a = "key-a";
        let namesake = (0..)
            .map(|i| format!("namesake{i}"))
            .find(|n| key(n).id() == key(a).id())
            .unwrap();
        let token = click("1001", "77").mint(&keys(&namesake));
        assert_eq!(
            Click::verify(&token, &keys(a)),
            Err(ClickProblem::BadSignature)
        );
        // Both listed: each of the two verifies its own ids.
        let both = keys(&format!("{a} {namesake}"));
        assert!(Click::verify(&token, &both).is_ok());
    }

    #[test]
    fn secrets_list_keys_separated_by_whitespace() {
        assert_eq!(keys("a").len(), 1);
        assert_eq!(keys(" a\tb\n c ").len(), 3);
        assert!(ClickKeys::from_secret("").is_err());
        assert!(ClickKeys::from_secret(" \n ").is_err());
        let many: Vec<String> = (0..=MAX_KEYS).map(|i| format!("k{i}")).collect();
        assert!(ClickKeys::from_secret(&many.join(" ")).is_err());
        assert_eq!(keys("a b").signing().id(), key("a").id());
    }

    #[test]
    fn tampered_tokens_do_not_verify() {
        let k = keys("k");
        let token = click("1001", "77").mint(&k);
        // Flip every character in turn to another URL-safe one.
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let tampered = String::from_utf8(bytes).unwrap();
            if tampered != token {
                assert!(Click::verify(&tampered, &k).is_err(), "position {i}");
            }
        }
    }

    #[test]
    fn truncated_or_extended_tokens_do_not_verify() {
        let k = keys("k");
        let token = click("1001", "77").mint(&k);
        for len in 0..token.len() {
            assert!(Click::verify(&token[..len], &k).is_err(), "length {len}");
        }
        assert!(Click::verify(&format!("{token}A"), &k).is_err());
        assert!(Click::verify(&format!("{token}="), &k).is_err());
    }

    #[test]
    fn another_campaign_is_a_different_signature() {
        let k = keys("k");
        let a = click("1001", "77").mint(&k);
        let b = click("1002", "77").mint(&k);
        assert_ne!(a, b);
        assert_eq!(Click::verify(&b, &k).unwrap().campaign.as_str(), "1002");
    }

    #[test]
    fn junk_is_malformed() {
        let k = keys("k");
        for junk in [
            "",
            "x",
            "!!!!",
            "💥",
            &"A".repeat(64),
            &"A".repeat(65),
            "AAAA.AAAA",
        ] {
            assert_eq!(
                Click::verify(junk, &k),
                Err(ClickProblem::Malformed),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn empty_key_is_refused() {
        assert!(ClickKey::new(b"").is_none());
    }
}
