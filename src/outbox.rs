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

/// Most secrets `ORIGIN_SECRET` may list: each adds a signature to every
/// delivery.
pub const MAX_SECRETS: usize = 8;

/// The keys messages are signed with: every secret `ORIGIN_SECRET` lists
/// (separated by whitespace), each `whsec_` + base64 of at least 24 random
/// bytes (Standard Webhooks). Every delivery carries one signature per
/// secret, so an origin that verifies with any one of them accepts it:
/// that is how the secret rotates.
#[derive(Clone)]
pub struct WebhookKey(Vec<Vec<u8>>);

/// Shows how many keys, never their bytes.
impl std::fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebhookKey({} secrets)", self.0.len())
    }
}

impl WebhookKey {
    /// The keys of an `ORIGIN_SECRET` value. An error says which secret in
    /// the list (by position) is wrong and how, never its text.
    pub fn from_secret(secret: &str) -> Result<WebhookKey, String> {
        let mut keys = Vec::new();
        for (i, one) in secret.split_whitespace().enumerate() {
            let which = i + 1;
            let encoded = one.strip_prefix("whsec_").ok_or(format!(
                "ORIGIN_SECRET's secret {which} must start with whsec_"
            ))?;
            let bytes = STANDARD.decode(encoded).map_err(|_| {
                format!("ORIGIN_SECRET's secret {which} is not whsec_ followed by base64")
            })?;
            if bytes.len() < 24 {
                return Err(format!(
                    "ORIGIN_SECRET's secret {which} must hold at least 24 random bytes"
                ));
            }
            keys.push(bytes);
        }
        if keys.is_empty() {
            return Err("ORIGIN_SECRET lists no secret".to_owned());
        }
        if keys.len() > MAX_SECRETS {
            return Err(format!(
                "ORIGIN_SECRET lists more than {MAX_SECRETS} secrets: remove the oldest"
            ));
        }
        Ok(WebhookKey(keys))
    }

    /// `webhook-signature` for a message: per key, in the order listed,
    /// `v1,` + base64 of HMAC-SHA256(key, "{id}.{timestamp}.{body}"),
    /// separated by spaces.
    pub fn sign(&self, id: &str, timestamp: i64, body: &str) -> String {
        let timestamp = timestamp.to_string();
        let mut signatures = Vec::with_capacity(self.0.len());
        for key in &self.0 {
            // HMAC takes keys of any length.
            let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                continue;
            };
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.as_bytes());
            mac.update(b".");
            mac.update(body.as_bytes());
            signatures.push(format!(
                "v1,{}",
                STANDARD.encode(mac.finalize().into_bytes())
            ));
        }
        signatures.join(" ")
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

/// Whether an object should be listed among those with deliveries
/// waiting, after a run of its alarm in which some delivery `failed` and
/// after which messages are `left`: listed once a delivery fails, unlisted
/// once nothing is left; `None` leaves the listing as it is (what was due
/// went out, and more waits its turn).
pub fn listed_after_run(failed: bool, left: bool) -> Option<bool> {
    match (failed, left) {
        (true, _) => Some(true),
        (false, false) => Some(false),
        (false, true) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_listed_from_a_failed_delivery_until_its_outbox_is_empty() {
        assert_eq!(listed_after_run(true, true), Some(true));
        assert_eq!(listed_after_run(true, false), Some(true));
        assert_eq!(listed_after_run(false, false), Some(false));
        assert_eq!(listed_after_run(false, true), None);
    }

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
        assert!(WebhookKey::from_secret("").is_err());
        assert!(WebhookKey::from_secret(" \n").is_err());
        // One bad secret in a list spoils it, and the error names its place.
        let err = WebhookKey::from_secret(&format!("{VECTOR_SECRET} whsec_c2hvcnQ=")).unwrap_err();
        assert!(err.contains("secret 2"), "{err}");
        assert!(!err.contains("c2hvcnQ"), "{err}");
    }

    const VECTOR_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const VECTOR_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn every_listed_secret_signs_in_order() {
        let other = "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let sign = |secrets: &str| {
            WebhookKey::from_secret(secrets).unwrap().sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1614265330,
                r#"{"test": 2432232314}"#,
            )
        };
        let alone = sign(other);
        assert_eq!(
            sign(&format!("{other} {VECTOR_SECRET}")),
            format!("{alone} {VECTOR_SIGNATURE}")
        );
        assert_eq!(
            sign(&format!(" {VECTOR_SECRET}\n{other} ")),
            format!("{VECTOR_SIGNATURE} {alone}")
        );
        assert_ne!(alone, VECTOR_SIGNATURE);
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
