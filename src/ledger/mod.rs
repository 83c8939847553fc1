//! The ledger: what a campaign's Durable Object decides about a postback
//! that passed the edge — new or update, time to action, payout, caps — and
//! the one change it commits for it.
//!
//! [`decide`] reads through a [`Store`] and returns a [`Decision`]; the
//! caller commits the decision's [`Change`] (conversion, counters and outbox
//! message together) or, for a dry run, drops it. Reading, deciding and
//! committing without yielding is what makes caps exact: the object runs
//! them with no `await` in between, so no other postback interleaves.

mod cap;
mod conversion;
mod forget;
pub mod memory;
mod period;

pub use cap::{Cap, CapLimit, CounterKey};
pub use conversion::{
    conversion_campaign, conversion_id, identity, identity_key, key_prefix, transition, Conversion,
    Known,
};
pub use forget::{Sweep, FORGET_BATCH};
pub use period::{CapPeriod, PeriodSpan};

use crate::catalog::{Detail, Refusal, Rejection};
use crate::ids::{CampaignId, PartnerId};
use crate::money::Money;
use crate::status::Status;
use crate::timezone::Timezone;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the edge hands the campaign object after its checks passed:
/// the postback, and what the edge computed statelessly (time to action,
/// payout) with the campaign rules the object needs (caps, timezone).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    pub campaign_id: CampaignId,
    pub click_id: String,
    pub partner_id: PartnerId,
    pub country: String,
    pub goal: String,
    pub action_id: Option<String>,
    pub status: Status,
    pub sum: Option<Money>,
    pub currency: String,
    /// Time to action inside the campaign's window.
    pub on_time: bool,
    /// The matching payout; `None` when no rule matched.
    pub payout: Option<Money>,
    pub caps: Vec<Cap>,
    pub timezone: Timezone,
    pub fields: BTreeMap<String, String>,
    /// Seconds from the click to this postback, and the campaign's window
    /// for it: what a `wrong_time_to_action` says (`on_time` decides).
    #[serde(default)]
    pub seconds_since_click: u64,
    #[serde(default)]
    pub min_time_to_action: Option<u64>,
    #[serde(default)]
    pub max_time_to_action: Option<u64>,
    /// How long a conversion's identity is remembered after its last
    /// change (the campaign's `dedupe_window_days`).
    #[serde(default = "default_dedupe_window_days")]
    pub dedupe_window_days: u32,
    /// A dry run (`/postback/check`): decided, never committed.
    #[serde(default)]
    pub dry_run: bool,
}

/// How long an identity is remembered when a campaign does not say.
pub const DEFAULT_DEDUPE_WINDOW_DAYS: u32 = 180;

fn default_dedupe_window_days() -> u32 {
    DEFAULT_DEDUPE_WINDOW_DAYS
}

/// The oldest last change (Unix seconds) a conversion may have at `now`
/// and still be remembered, for a window of `days`.
pub fn remembered_since(now: i64, days: u32) -> i64 {
    now.saturating_sub(i64::from(days).saturating_mul(86_400))
}

/// What an admitted conversion adds to one counter, and when the
/// counter's period ends (after which nothing reads it again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contribution {
    pub key: CounterKey,
    #[serde(with = "rust_decimal::serde::str")]
    pub increment: Decimal,
    pub expires_at: i64,
}

/// A message for the origin, written with the conversion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Stable for the message: the Standard Webhooks `webhook-id` and the
    /// `Idempotency-Key`.
    pub id: String,
    /// The JSON body, fixed at commit time so that every retry sends the
    /// same bytes.
    pub body: String,
    pub created_at: i64,
}

/// Everything one accepted postback writes, in one transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub conversion: Conversion,
    /// The status before, for an update.
    pub previous: Option<Status>,
    pub counters: Vec<Contribution>,
    pub outbox: OutboxMessage,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    Accept(Box<Change>),
    /// Refused, with the facts behind it (SPEC §4a).
    Reject(Rejection, Detail),
}

/// The campaign object's storage, as the ledger sees it.
pub trait Store {
    type Error;
    /// What is kept of the conversion with this identity, if anything.
    fn conversion(&self, identity: &str) -> Result<Option<Known>, Self::Error>;
    /// A counter's value; zero when it has none.
    fn counter(&self, key: &CounterKey) -> Result<Decimal, Self::Error>;
    /// Writes a change: all of it or, on error, none of it.
    fn commit(&mut self, change: &Change) -> Result<(), Self::Error>;
}

/// The answer the campaign object gives the edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Verdict {
    Accepted {
        conversion_id: String,
        conversion_status: Status,
        /// Whether this postback created the conversion (or updated it).
        created: bool,
    },
    /// `code` is a catalog code; the edge treats any other as
    /// `invalid_error_code`. `detail` is the rejection's `error.detail`.
    Rejected {
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<serde_json::Value>,
    },
}

impl Verdict {
    /// The refusal the rejection `code` with `detail` stands for: its code
    /// and its detail, or `invalid_error_code` for a code the catalog does
    /// not know (the outcome is unknown, and the advertiser must not be
    /// told either way).
    pub fn refusal(code: &str, detail: &Option<serde_json::Value>) -> Refusal {
        match (Rejection::from_code(code), detail) {
            (Some(rejection), Some(serde_json::Value::Object(fields))) => {
                let detail = fields
                    .iter()
                    .fold(Detail::new(), |d, (k, v)| d.with(k, v.clone()));
                Refusal::Detailed(rejection, detail)
            }
            (Some(rejection), _) => Refusal::Rejected(rejection),
            (None, _) => Refusal::Rejected(Rejection::InvalidErrorCode),
        }
    }
}

impl Decision {
    pub fn verdict(&self) -> Verdict {
        match self {
            Decision::Accept(change) => Verdict::Accepted {
                conversion_id: change.conversion.id.clone(),
                conversion_status: change.conversion.status,
                created: change.previous.is_none(),
            },
            Decision::Reject(r, detail) => Verdict::Rejected {
                code: r.code().to_owned(),
                detail: Some(detail.to_value()),
            },
        }
    }
}

/// Decides a submission against the stored state, at `now`. Checks, in
/// SPEC order — for an existing conversion: status_same, status_confirmed;
/// for a new one: wrong_time_to_action, payouts_not_found, cap_reached.
/// Reads only; the caller commits.
pub fn decide<S: Store>(
    store: &S,
    submission: &Submission,
    now: i64,
) -> Result<Decision, S::Error> {
    let identity = identity(
        &submission.goal,
        submission.action_id.as_deref(),
        &submission.click_id,
    );
    // Past its dedupe window an identity is forgotten: the postback is a
    // new conversion, whether or not the old row was pruned yet.
    let remembered = remembered_since(now, submission.dedupe_window_days);
    if let Some(known) = store.conversion(&identity)? {
        if known.updated_at() >= remembered {
            return Ok(update(known, submission.status, now));
        }
    }
    if !submission.on_time {
        let detail = Detail::new()
            .with("seconds_since_click", submission.seconds_since_click)
            .with("min_time_to_action", submission.min_time_to_action)
            .with("max_time_to_action", submission.max_time_to_action);
        return Ok(Decision::Reject(Rejection::WrongTimeToAction, detail));
    }
    let Some(payout) = submission.payout else {
        let detail = Detail::new()
            .with("goal", submission.goal.as_str())
            .with("country", submission.country.as_str())
            .with("partner_id", submission.partner_id.as_str());
        return Ok(Decision::Reject(Rejection::PayoutsNotFound, detail));
    };
    let counters = match count(store, submission, payout, now)? {
        Ok(counters) => counters,
        Err(detail) => return Ok(Decision::Reject(Rejection::CapReached, detail)),
    };
    let conversion = Conversion {
        id: conversion_id(&submission.campaign_id, &identity, now),
        identity,
        campaign_id: submission.campaign_id.clone(),
        click_id: submission.click_id.clone(),
        partner_id: submission.partner_id.clone(),
        country: submission.country.clone(),
        goal: submission.goal.clone(),
        action_id: submission.action_id.clone(),
        status: submission.status,
        payout,
        currency: submission.currency.clone(),
        sum: submission.sum,
        created_at: now,
        updated_at: now,
        revision: 1,
        fields: submission.fields.clone(),
    };
    let outbox = outbox_message(&conversion, "conversion.created", now);
    Ok(Decision::Accept(Box::new(Change {
        conversion,
        previous: None,
        counters,
        outbox,
    })))
}

fn update(known: Known, status: Status, now: i64) -> Decision {
    // What an update's refusal says: the conversion as it stands.
    let detail = || {
        Detail::new()
            .with("conversion_id", known.id())
            .with("conversion_status", known.status().as_str())
            .with(
                "updated_at",
                crate::time::format_rfc3339(known.updated_at(), None),
            )
    };
    if let Err(rejection) = transition(known.status(), status) {
        return Decision::Reject(rejection, detail());
    }
    let Known::Full(existing) = known else {
        // Only a final conversion is settled, and nothing moves a final
        // status: `transition` refused it above.
        return Decision::Reject(Rejection::StatusConfirmed, detail());
    };
    let previous = existing.status;
    let conversion = Conversion {
        status,
        updated_at: now,
        revision: existing.revision.saturating_add(1),
        ..*existing
    };
    let outbox = outbox_message(&conversion, "conversion.updated", now);
    // A status change does not release cap room (SPEC §6): no counters.
    Decision::Accept(Box::new(Change {
        conversion,
        previous: Some(previous),
        counters: Vec::new(),
        outbox,
    }))
}

/// What the conversion adds to every counter it touches, or, if a cap
/// has no room, what `cap_reached` says of it: the cap as configured, its
/// counter, and when its period resets (in the campaign's UTC offset; none
/// for `all`). Caps that share a counter (same kind, period, goals and
/// partner scope, different limits) are each checked against it and add
/// to it once.
fn count<S: Store>(
    store: &S,
    submission: &Submission,
    payout: Money,
    now: i64,
) -> Result<Result<Vec<Contribution>, Detail>, S::Error> {
    let mut updates: BTreeMap<CounterKey, Contribution> = BTreeMap::new();
    for cap in submission
        .caps
        .iter()
        .filter(|c| c.counts_goal(&submission.goal))
    {
        let (key, span) = cap.counter(&submission.timezone, &submission.partner_id, now);
        let used = store.counter(&key)?;
        let increment = cap.increment(payout);
        if !cap.admits(used, increment) {
            let resets_at = (cap.period() != CapPeriod::All).then(|| {
                let offset = submission.timezone.offset_at(span.end);
                crate::time::format_rfc3339_offset(span.end, offset)
            });
            let detail = Detail::new()
                .with("cap", cap.as_config())
                .with("used", used.normalize().to_string())
                .with("resets_at", resets_at);
            return Ok(Err(detail));
        }
        updates.insert(
            key.clone(),
            Contribution {
                key,
                increment,
                expires_at: span.end,
            },
        );
    }
    Ok(Ok(updates.into_values().collect()))
}

#[derive(Serialize)]
struct WebhookBody<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: &'a Conversion,
}

fn outbox_message(conversion: &Conversion, kind: &str, now: i64) -> OutboxMessage {
    let body = WebhookBody {
        kind,
        timestamp: crate::time::format_rfc3339(now, None),
        data: conversion,
    };
    OutboxMessage {
        id: format!("msg_{}_{}", conversion.id, conversion.revision),
        // Serializing plain strings, numbers and maps cannot fail.
        body: serde_json::to_string(&body).unwrap_or_default(),
        created_at: now,
    }
}

#[cfg(test)]
mod tests;
