//! Caps: limits on the conversions (or the payout sum) a campaign admits
//! per period, shared or per partner.

use super::period::{CapPeriod, PeriodSpan};
use crate::ids::PartnerId;
use crate::money::Money;
use crate::timezone::Timezone;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CapLimit {
    /// At most this many conversions.
    Conversions(u64),
    /// At most this payout sum, in the campaign's currency.
    Budget(Money),
}

/// One cap of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    /// The goals it counts (the campaign's spelling, sorted); empty: all.
    goals: Vec<String>,
    period: CapPeriod,
    limit: CapLimit,
    per_partner: bool,
}

/// Where a cap's count lives for one period (and partner): the key of a
/// counter row. Two caps that differ only in their limit share a counter,
/// so raising or lowering a cap keeps what was already counted.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CounterKey(String);

impl CounterKey {
    /// A key as storage kept it.
    pub fn from_stored(key: String) -> CounterKey {
        CounterKey(key)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Cap {
    /// `goals` must already be the campaign's goal ids, sorted, deduplicated
    /// (config validation does it).
    pub fn new(goals: Vec<String>, period: CapPeriod, limit: CapLimit, per_partner: bool) -> Cap {
        Cap {
            goals,
            period,
            limit,
            per_partner,
        }
    }

    pub fn counts_goal(&self, goal: &str) -> bool {
        self.goals.is_empty() || self.goals.iter().any(|g| g == goal)
    }

    pub fn limit(&self) -> &CapLimit {
        &self.limit
    }

    pub fn period(&self) -> CapPeriod {
        self.period
    }

    /// The counter this cap uses for a conversion by `partner` at `now`,
    /// and the period it spans.
    pub fn counter(
        &self,
        tz: &Timezone,
        partner: &PartnerId,
        now: i64,
    ) -> (CounterKey, PeriodSpan) {
        let span = self.period.span(tz, now);
        let kind = match self.limit {
            CapLimit::Conversions(_) => "conversions",
            CapLimit::Budget(_) => "budget",
        };
        // Goal ids hold no whitespace or control characters (config.rs);
        // '|' and ',' in them cannot make two caps collide because the goal
        // list is the last field but one and partner ids are [A-Za-z0-9_-].
        let who = if self.per_partner {
            partner.as_str()
        } else {
            "*"
        };
        let key = format!(
            "{kind}|{}|{}|{who}|{}",
            self.period.as_str(),
            self.goals.join(","),
            span.start
        );
        (CounterKey(key), span)
    }

    /// The cap as a campaign config spells it (`goals`, `period`, `type`,
    /// `value`, `per_partner`), for the detail of `cap_reached`.
    pub fn as_config(&self) -> serde_json::Value {
        let (kind, value) = match &self.limit {
            CapLimit::Conversions(n) => ("conversions", serde_json::json!(n)),
            CapLimit::Budget(money) => ("budget", serde_json::json!(money.to_string())),
        };
        serde_json::json!({
            "goals": self.goals,
            "period": self.period.as_str(),
            "type": kind,
            "value": value,
            "per_partner": self.per_partner,
        })
    }

    /// How much one conversion of `payout` adds to this cap's counter.
    pub fn increment(&self, payout: Money) -> Decimal {
        match self.limit {
            CapLimit::Conversions(_) => Decimal::ONE,
            CapLimit::Budget(_) => payout.decimal(),
        }
    }

    /// Whether a counter at `used` has room for `increment` more.
    pub fn admits(&self, used: Decimal, increment: Decimal) -> bool {
        let Some(after) = used.checked_add(increment) else {
            return false;
        };
        match &self.limit {
            CapLimit::Conversions(max) => after <= Decimal::from(*max),
            CapLimit::Budget(max) => after <= max.decimal(),
        }
    }
}
