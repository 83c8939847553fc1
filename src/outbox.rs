//! Delivering outbox messages to the origin: the Standard Webhooks
//! signature and the retry schedule. The campaign object's alarm does the
//! I/O; what to send and when to retry is decided here.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long an undelivered message is retried before it is parked (kept,
/// shown by `GET /v1/outbox`, no longer retried on its own).
pub const RETRY_FOR_MS: u64 = 3 * 24 * 3600 * 1000;
/// The longest wait between two attempts.
pub const MAX_DELAY_MS: u64 = 6 * 3600 * 1000;
/// The first retry waits about this long (`OUTBOX_RETRY_BASE_MS` overrides).
pub const DEFAULT_BASE_DELAY_MS: u64 = 30_000;
/// An origin that has not answered by then has failed the attempt
/// (`ORIGIN_TIMEOUT_MS` overrides).
pub const DEFAULT_TIMEOUT_MS: u64 = 15_000;

/// The key messages are signed with: the bytes of `ORIGIN_SECRET`, which is
/// `whsec_` + base64 of at least 24 random bytes (Standard Webhooks).
#[derive(Clone)]
pub struct WebhookKey(Vec<u8>);

impl WebhookKey {
    pub fn from_secret(secret: &str) -> Result<WebhookKey, String> {
        let encoded = secret
            .strip_prefix("whsec_")
            .ok_or("ORIGIN_SECRET must start with whsec_")?;
        let bytes = STANDARD
            .decode(encoded.trim())
            .map_err(|_| "ORIGIN_SECRET is not whsec_ followed by base64")?;
        if bytes.len() < 24 {
            return Err("ORIGIN_SECRET must hold at least 24 random bytes".to_owned());
        }
        Ok(WebhookKey(bytes))
    }

    /// `webhook-signature` for a message: `v1,` + base64 of
    /// HMAC-SHA256(key, "{id}.{timestamp}.{body}").
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        // HMAC takes keys of any length.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&self.0) {
            Ok(mac) => mac,
            Err(_) => return String::new(),
        };
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body.as_bytes());
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// When to try a message again after its `attempt`-th failed attempt (1 for
/// the first), or `None` once it has been retried for `retry_for_ms`
/// ([`RETRY_FOR_MS`] unless configured):
/// exponential backoff from `base_ms`, capped at [`MAX_DELAY_MS`], with
/// "equal jitter" (half fixed, half random, `jitter` in [0, 1)) so that a
/// recovering origin is not hit by every campaign at once.
pub fn next_attempt_at(
    created_at_ms: u64,
    attempt: u32,
    now_ms: u64,
    base_ms: u64,
    retry_for_ms: u64,
    jitter: f64,
) -> Option<u64> {
    if now_ms.saturating_sub(created_at_ms) >= retry_for_ms {
        return None;
    }
    let exponent = attempt.saturating_sub(1).min(30);
    let full = base_ms.saturating_mul(1u64 << exponent).min(MAX_DELAY_MS);
    let jitter = jitter.clamp(0.0, 1.0);
    let delay = full / 2 + ((full / 2) as f64 * jitter) as u64;
    Some(now_ms + delay.max(1))
}

/// Whether an origin's answer delivers the message.
pub fn delivered(status: u16) -> bool {
    (200..300).contains(&status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_like_the_standard_webhooks_libraries() {
        // The test vector of the Standard Webhooks reference libraries.
        let key = WebhookKey::from_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signature = key.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            r#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_must_be_whsec_base64_of_24_bytes() {
        assert!(WebhookKey::from_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(WebhookKey::from_secret("whsec_!!!").is_err());
        assert!(WebhookKey::from_secret("whsec_c2hvcnQ=").is_err());
    }

    #[test]
    fn backoff_grows_is_capped_and_gives_up_after_three_days() {
        let base = 30_000;
        let at =
            |attempt, jitter| next_attempt_at(0, attempt, 0, base, RETRY_FOR_MS, jitter).unwrap();
        assert_eq!(at(1, 0.0), 15_000);
        assert_eq!(at(1, 0.999_999), 29_999);
        assert_eq!(at(2, 0.0), 30_000);
        assert_eq!(at(3, 0.0), 60_000);
        assert_eq!(at(30, 0.0), MAX_DELAY_MS / 2);
        assert!(at(40, 0.99) <= MAX_DELAY_MS);
        assert_eq!(
            next_attempt_at(0, 5, RETRY_FOR_MS, base, RETRY_FOR_MS, 0.5),
            None
        );
        assert!(next_attempt_at(0, 5, RETRY_FOR_MS - 1, base, RETRY_FOR_MS, 0.5).is_some());
        // A shorter window, as configured.
        assert_eq!(next_attempt_at(0, 1, 1_000, base, 1_000, 0.5), None);
    }

    #[test]
    fn only_2xx_delivers() {
        assert!(delivered(200) && delivered(204) && delivered(299));
        assert!(!delivered(301) && !delivered(409) && !delivered(500) && !delivered(199));
    }
}
