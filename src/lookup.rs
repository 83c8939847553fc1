//! What a campaign object tells the edge besides verdicts: one conversion
//! as it knows it ([`ConversionView`], for `GET /v1/conversions/{id}`) and
//! what it holds ([`ObjectStats`]). Built here from what its rows keep, so
//! that the object and the edge exchange typed values.

use crate::ledger::Known;
use crate::outbox::Delivery;
use crate::status::Status;
use serde::{Deserialize, Serialize};

/// Where a conversion's messages stand.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// The origin answered 2xx to every message.
    Delivered,
    /// A message waits for its next attempt.
    Waiting,
    /// A message stopped being retried (it waits for
    /// `POST /v1/outbox/retry`).
    Parked,
}

/// One message of a conversion not yet delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: String,
    pub attempts: u32,
    /// When it is tried next (RFC 3339); `None` when parked, or while it
    /// waits behind an earlier message of the conversion.
    pub next_attempt_at: Option<String>,
    pub parked: bool,
    pub last_error: Option<String>,
}

/// A conversion as its object knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionView {
    pub conversion_id: String,
    pub status: Status,
    pub revision: u32,
    /// Its last change, RFC 3339.
    pub updated_at: String,
    pub delivery: DeliveryState,
    /// Its messages not yet delivered, oldest first.
    pub outbox: Vec<MessageView>,
    /// The conversion whole: while it is pending, as kept; once final,
    /// from its last message until the origin has it; after that only its
    /// log entries hold it (`null`).
    pub conversion: Option<serde_json::Value>,
}

impl ConversionView {
    /// The view of what a row keeps: `known`, and its `delivery` if any
    /// message waits.
    pub fn of(known: &Known, delivery: Option<&Delivery>) -> ConversionView {
        let messages = delivery.map_or(&[][..], |d| d.messages.as_slice());
        let outbox = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let first = delivery.filter(|_| i == 0);
                let parked = first.is_some_and(Delivery::is_parked);
                MessageView {
                    id: m.id.clone(),
                    attempts: first.map_or(0, |d| d.attempts),
                    next_attempt_at: first.filter(|d| !d.is_parked()).map(|d| {
                        crate::log::format_millis(u64::try_from(d.next_attempt_at).unwrap_or(0))
                    }),
                    parked,
                    last_error: first.and_then(|d| d.last_error.clone()),
                }
            })
            .collect();
        let delivery_state = match delivery {
            None => DeliveryState::Delivered,
            Some(d) if d.is_parked() => DeliveryState::Parked,
            Some(_) => DeliveryState::Waiting,
        };
        let conversion = match known {
            Known::Full(record) => serde_json::to_value(record).ok(),
            Known::Settled { .. } => messages.last().and_then(|m| {
                let body: serde_json::Value = serde_json::from_str(&m.body).ok()?;
                body.get("data").cloned()
            }),
        };
        ConversionView {
            conversion_id: known.id().to_owned(),
            status: known.status(),
            revision: known.revision(),
            updated_at: crate::time::format_rfc3339(known.updated_at(), None),
            delivery: delivery_state,
            outbox,
            conversion,
        }
    }
}

/// What a campaign object holds, and what it has cost since it started.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ObjectStats {
    /// Conversions remembered (within their dedupe window, or not yet
    /// forgotten past it).
    pub conversions: u64,
    /// Of them, the pending ones, kept whole.
    pub pending: u64,
    /// Messages not yet delivered to the origin.
    pub outbox: u64,
    /// The object's SQLite database, in bytes.
    pub database_bytes: u64,
    /// The SQLite rows read and written since the object started, as its
    /// SQL cursors count them: what the platform bills.
    pub rows_read: u64,
    pub rows_written: u64,
    /// Alarms the object set since it started (each billed as a row
    /// written).
    pub alarms_set: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::OutboxMessage;
    use crate::outbox::{Schedule, RETRY_FOR_MS};

    fn message(id: &str, status: &str) -> OutboxMessage {
        OutboxMessage {
            id: id.to_owned(),
            body: format!(
                r#"{{"type":"conversion.updated","timestamp":"t","data":{{"id":"cv_1","status":"{status}"}}}}"#
            ),
            created_at: 1,
        }
    }

    fn settled() -> Known {
        Known::Settled {
            id: "cv_1".into(),
            status: Status::Approved,
            revision: 2,
            updated_at: 1_790_000_000,
        }
    }

    #[test]
    fn a_settled_conversion_shows_its_last_message_until_the_origin_has_it() {
        let delivery = Delivery::queued(
            Some(Delivery::queued(
                None,
                message("msg_cv_1_1", "pending"),
                5_000,
            )),
            message("msg_cv_1_2", "approved"),
            6_000,
        );
        let view = ConversionView::of(&settled(), Some(&delivery));
        assert_eq!(view.delivery, DeliveryState::Waiting);
        assert_eq!(view.status, Status::Approved);
        assert_eq!(view.updated_at, "2026-09-21T14:13:20Z");
        assert_eq!(view.outbox.len(), 2);
        assert_eq!(view.outbox[0].attempts, 1);
        assert_eq!(
            view.outbox[0].next_attempt_at.as_deref(),
            Some("1970-01-01T00:00:05.000Z")
        );
        assert_eq!(
            view.outbox[1].next_attempt_at, None,
            "the second waits its turn"
        );
        assert_eq!(view.conversion.unwrap()["status"], "approved");
        let delivered = ConversionView::of(&settled(), None);
        assert_eq!(
            (delivered.delivery, delivered.outbox.len()),
            (DeliveryState::Delivered, 0)
        );
        assert_eq!(delivered.conversion, None);
        let schedule = Schedule {
            base_ms: 1,
            retry_for_ms: RETRY_FOR_MS,
        };
        let parked = Delivery::queued(None, message("msg_cv_1_2", "approved"), 0).failed(
            "HTTP 500".into(),
            RETRY_FOR_MS + 5_000,
            schedule,
            0.0,
        );
        let view = ConversionView::of(&settled(), Some(&parked));
        assert_eq!(view.delivery, DeliveryState::Parked);
        assert!(view.outbox[0].parked);
        assert_eq!(view.outbox[0].last_error.as_deref(), Some("HTTP 500"));
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["delivery"], "parked");
    }
}
