//! Delivering outbox messages to the origin: the Standard Webhooks
//! signature, batches, the retry schedule, and the delivery state a
//! conversion's row keeps until the origin has its messages. The campaign
//! object's alarm does the I/O; what to send and when to retry is decided
//! here.

use crate::ledger::OutboxMessage;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
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

/// `next_attempt_at` of a parked message: far past any real time, inside
/// the integers JavaScript represents exactly.
pub const PARKED: i64 = 9_000_000_000_000_000;

/// Most messages one request carries when the origin takes batches
/// (`ORIGIN_BATCH_MAX`).
pub const MAX_BATCH: usize = 100;

/// Where a conversion's messages stand until the origin has them all:
/// what its row keeps. Messages go out in order, one at a time per
/// conversion; the attempt counts are the first message's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Oldest first.
    pub messages: Vec<OutboxMessage>,
    /// Attempts of the first message, the one due next counted: an
    /// attempt is counted before it is sent (the alarm that sends it is
    /// at-least-once).
    pub attempts: u32,
    /// When the first message is due (Unix milliseconds), or [`PARKED`].
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// The retry schedule an object runs by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    pub base_ms: u64,
    pub retry_for_ms: u64,
}

impl Delivery {
    /// `message` queued behind what `before` holds (nothing, for a
    /// conversion delivered so far); a first message is due at `now_ms`,
    /// its first attempt counted.
    pub fn queued(before: Option<Delivery>, message: OutboxMessage, now_ms: u64) -> Delivery {
        match before {
            Some(mut delivery) => {
                delivery.messages.push(message);
                delivery
            }
            None => Delivery {
                messages: vec![message],
                attempts: 1,
                next_attempt_at: millis(now_ms),
                last_error: None,
            },
        }
    }

    /// After the origin took the first message: what is left (the next
    /// message due at once, its first attempt counted), or `None`.
    pub fn delivered(mut self, now_ms: u64) -> Option<Delivery> {
        if self.messages.is_empty() {
            return None;
        }
        self.messages.remove(0);
        (!self.messages.is_empty()).then(|| Delivery {
            messages: self.messages,
            attempts: 1,
            next_attempt_at: millis(now_ms),
            last_error: None,
        })
    }

    /// After the first message's attempt failed with `error` at `now_ms`:
    /// the next attempt counted and scheduled (with `jitter` in [0, 1)),
    /// or the message parked once retried for the schedule's window.
    pub fn failed(
        mut self,
        error: String,
        now_ms: u64,
        schedule: Schedule,
        jitter: f64,
    ) -> Delivery {
        let created_ms = self.messages.first().map_or(0, |m| {
            u64::try_from(m.created_at)
                .unwrap_or(0)
                .saturating_mul(1000)
        });
        let next = next_attempt_at(
            created_ms,
            self.attempts,
            now_ms,
            schedule.base_ms,
            schedule.retry_for_ms,
            jitter,
        );
        self.next_attempt_at = next.map_or(PARKED, millis);
        if next.is_some() {
            self.attempts = self.attempts.saturating_add(1);
        }
        self.last_error = Some(error);
        self
    }

    /// A parked message brought back: due at `now_ms`, tried once more.
    pub fn requeued(mut self, now_ms: u64) -> Delivery {
        if self.next_attempt_at >= PARKED {
            self.next_attempt_at = millis(now_ms);
        }
        self
    }

    pub fn is_parked(&self) -> bool {
        self.next_attempt_at >= PARKED
    }
}

fn millis(ms: u64) -> i64 {
    i64::try_from(ms).unwrap_or(i64::MAX).min(PARKED - 1)
}

/// What one request to the origin carries: one message as itself, or
/// several (`ORIGIN_BATCH_MAX` > 1) as one signed message whose data is
/// the list, each item its own message with its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The `webhook-id` and `Idempotency-Key`: the message's own, or for
    /// a batch one derived from the ids it holds (the same batch again has
    /// the same id).
    pub id: String,
    pub body: String,
}

impl Request {
    /// The request for `messages` (at least one), made at `now` (Unix
    /// seconds).
    pub fn of(messages: &[&OutboxMessage], now: i64) -> Request {
        if let [one] = messages {
            return Request {
                id: one.id.clone(),
                body: one.body.clone(),
            };
        }
        // FNV-1a over the ids.
        let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
        let mut items = String::new();
        for (i, m) in messages.iter().enumerate() {
            for byte in m.id.bytes().chain([0]) {
                digest = (digest ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
            }
            if i > 0 {
                items.push(',');
            }
            // A message body is a JSON object: the item is it with its id
            // first. Ids are `msg_` and URL-safe characters: no escaping.
            items.push_str(&format!("{{\"id\":\"{}\",", m.id));
            items.push_str(m.body.strip_prefix('{').unwrap_or(&m.body));
        }
        let timestamp = crate::time::format_rfc3339(now, None);
        Request {
            id: format!("batch_{digest:016x}"),
            body: format!(
                "{{\"type\":\"conversion.batch\",\"timestamp\":\"{timestamp}\",\"data\":[{items}]}}"
            ),
        }
    }
}

/// What an object's outbox holds, for `GET /v1/outbox`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OutboxStatus {
    /// Messages not yet delivered, parked ones included.
    pub waiting: u64,
    pub parked: u64,
    /// Unix seconds of the oldest waiting message.
    pub oldest_created_at: Option<i64>,
    /// When the next attempt is due (RFC 3339), if any is.
    pub next_attempt_at: Option<String>,
    pub max_attempts: u64,
    pub last_error: Option<String>,
}

impl OutboxStatus {
    /// The status of an outbox holding `deliveries`.
    pub fn of<'a>(deliveries: impl IntoIterator<Item = &'a Delivery>) -> OutboxStatus {
        let mut status = OutboxStatus::default();
        let mut next: Option<i64> = None;
        let mut newest_error: Option<(i64, &str)> = None;
        for d in deliveries {
            status.waiting += d.messages.len() as u64;
            if d.is_parked() {
                status.parked += d.messages.len() as u64;
            } else {
                next = Some(next.map_or(d.next_attempt_at, |n| n.min(d.next_attempt_at)));
            }
            let oldest = d.messages.first().map(|m| m.created_at);
            status.oldest_created_at = match (status.oldest_created_at, oldest) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            status.max_attempts = status.max_attempts.max(u64::from(d.attempts));
            if let (Some(error), Some(at)) = (&d.last_error, oldest) {
                if newest_error.is_none_or(|(seen, _)| at >= seen) {
                    newest_error = Some((at, error));
                }
            }
        }
        status.next_attempt_at =
            next.map(|t| crate::log::format_millis(u64::try_from(t).unwrap_or(0)));
        status.last_error = newest_error.map(|(_, e)| e.to_owned());
        status
    }
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

    fn message(id: &str, created_at: i64) -> OutboxMessage {
        OutboxMessage {
            id: id.to_owned(),
            body: format!("{{\"type\":\"conversion.created\",\"data\":{{\"id\":\"{id}\"}}}}"),
            created_at,
        }
    }

    const SCHEDULE: Schedule = Schedule {
        base_ms: 30_000,
        retry_for_ms: RETRY_FOR_MS,
    };

    #[test]
    fn a_row_delivers_its_messages_in_order_counting_each_attempt_before_it_is_sent() {
        let first = Delivery::queued(None, message("msg_a_1", 100), 100_000);
        assert_eq!((first.attempts, first.next_attempt_at), (1, 100_000));
        let both = Delivery::queued(Some(first), message("msg_a_2", 101), 101_000);
        assert_eq!(both.messages.len(), 2);
        assert_eq!(
            both.next_attempt_at, 100_000,
            "a second message waits its turn"
        );
        let failed = both.failed("HTTP 500".into(), 102_000, SCHEDULE, 0.0);
        assert_eq!(failed.attempts, 2, "the next attempt is counted now");
        assert_eq!(failed.next_attempt_at, 102_000 + 15_000);
        assert_eq!(failed.last_error.as_deref(), Some("HTTP 500"));
        let next = failed.delivered(120_000).unwrap();
        assert_eq!(next.messages[0].id, "msg_a_2");
        assert_eq!(
            (next.attempts, next.next_attempt_at, &next.last_error),
            (1, 120_000, &None)
        );
        assert_eq!(next.delivered(121_000), None);
        // Retried for the whole window: parked, and brought back on demand.
        let old = Delivery::queued(None, message("msg_b_1", 0), 0);
        let parked = old.failed("down".into(), RETRY_FOR_MS, SCHEDULE, 0.5);
        assert!(parked.is_parked());
        assert_eq!(parked.attempts, 1, "a parked message waits for no attempt");
        assert_eq!(parked.clone().requeued(5).next_attempt_at, 5);
        assert!(!parked.requeued(5).is_parked());
    }

    #[test]
    fn a_batch_is_one_message_of_messages_with_a_stable_id() {
        let (a, b) = (message("msg_a_1", 1), message("msg_b_1", 2));
        let single = Request::of(&[&a], 7);
        assert_eq!(
            (single.id.as_str(), single.body.as_str()),
            ("msg_a_1", a.body.as_str())
        );
        let batch = Request::of(&[&a, &b], 1_790_000_000);
        assert_eq!(
            batch.id,
            Request::of(&[&a, &b], 5).id,
            "the same messages, the same id"
        );
        assert_ne!(
            batch.id,
            Request::of(&[&b, &a], 5).id.replace('x', "y") + "!"
        );
        assert!(batch.id.starts_with("batch_"));
        let body: serde_json::Value = serde_json::from_str(&batch.body).unwrap();
        assert_eq!(body["type"], "conversion.batch");
        assert_eq!(body["timestamp"], "2026-09-21T14:13:20Z");
        assert_eq!(body["data"][0]["id"], "msg_a_1");
        assert_eq!(body["data"][1]["type"], "conversion.created");
        assert_eq!(body["data"][1]["data"]["id"], "msg_b_1");
    }

    #[test]
    fn the_status_of_an_outbox_counts_every_waiting_message() {
        let due = Delivery::queued(
            Some(Delivery::queued(None, message("a", 10), 50_000)),
            message("b", 20),
            60_000,
        );
        let parked = Delivery::queued(None, message("c", 5), 0).failed(
            "HTTP 503".into(),
            RETRY_FOR_MS + 10_000,
            SCHEDULE,
            0.0,
        );
        let status = OutboxStatus::of([&due, &parked]);
        assert_eq!(
            (status.waiting, status.parked, status.max_attempts),
            (3, 1, 1)
        );
        assert_eq!(status.oldest_created_at, Some(5));
        assert_eq!(
            status.next_attempt_at.as_deref(),
            Some("1970-01-01T00:00:50.000Z")
        );
        assert_eq!(status.last_error.as_deref(), Some("HTTP 503"));
        assert_eq!(OutboxStatus::of([]), OutboxStatus::default());
    }

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
