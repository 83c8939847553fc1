//! Reading and validating a campaign config (SPEC §5). Serde reads the
//! shape (unknown fields and bad enum words are refused there, with the
//! field's path); the checks below read the meaning.

use super::payout::{PayoutAmount, PayoutRule};
use super::{Campaign, CampaignStatus, Goal, Privacy};
use crate::click::Country;
use crate::ids::{CampaignId, PartnerId, ID_RULE};
use crate::ledger::{Cap, CapLimit, CapPeriod};
use crate::money::Money;
use crate::status::Status;
use crate::timezone::Timezone;
use ipnet::IpNet;
use serde::Deserialize;
use serde_json::Value;
use std::fmt;
use std::net::IpAddr;

/// A config that cannot be stored, naming the field by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub field: String,
    pub problem: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> ConfigError {
        ConfigError {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.field, self.problem)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    id: String,
    #[serde(default = "active")]
    status: CampaignStatus,
    #[serde(default = "public")]
    privacy: Privacy,
    #[serde(default)]
    approved_partners: Vec<String>,
    secure_code: Option<String>,
    #[serde(default)]
    allowed_ips: Vec<String>,
    landing_url: String,
    #[serde(default = "usd")]
    currency: String,
    #[serde(default = "utc")]
    timezone: String,
    default_goal: Option<String>,
    #[serde(default = "pending")]
    default_status: Status,
    goals: Vec<RawGoal>,
    min_time_to_action: Option<u64>,
    max_time_to_action: Option<u64>,
    #[serde(default = "default_dedupe_window_days")]
    dedupe_window_days: u32,
    #[serde(default)]
    payouts: Vec<RawPayout>,
    #[serde(default)]
    caps: Vec<RawCap>,
}

fn active() -> CampaignStatus {
    CampaignStatus::Active
}
fn public() -> Privacy {
    Privacy::Public
}
fn usd() -> String {
    "USD".to_owned()
}
fn utc() -> String {
    "UTC".to_owned()
}
fn pending() -> Status {
    Status::Pending
}
fn default_dedupe_window_days() -> u32 {
    crate::ledger::DEFAULT_DEDUPE_WINDOW_DAYS
}

/// The longest dedupe window a campaign may set: two years.
pub const MAX_DEDUPE_WINDOW_DAYS: u32 = 730;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGoal {
    id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayout {
    goal: Option<String>,
    #[serde(default)]
    countries: Vec<String>,
    #[serde(default)]
    partners: Vec<String>,
    amount: Option<Value>,
    percent: Option<Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCap {
    #[serde(default)]
    goals: Vec<String>,
    period: CapPeriod,
    #[serde(rename = "type")]
    kind: CapKind,
    value: Value,
    #[serde(default)]
    per_partner: bool,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum CapKind {
    Conversions,
    Budget,
}

const MAX_URL_LEN: usize = 2048;
const MAX_GOAL_LEN: usize = 64;
const MAX_SECURE_CODE_LEN: usize = 256;

pub(super) fn parse(json: &str) -> Result<Campaign, ConfigError> {
    // Serde would read a top-level array as the struct's fields in order.
    if !json.trim_start().starts_with('{') {
        return Err(ConfigError::new("(config)", "must be a JSON object"));
    }
    let raw: RawCampaign = serde_json::from_str(json).map_err(|e| {
        let path = super::json_path::path_of(json, &e);
        let field = if path.is_empty() {
            "(config)".to_owned()
        } else {
            path
        };
        ConfigError::new(field, strip_position(&e.to_string()))
    })?;
    validate(raw)
}

/// serde_json appends " at line 1 column 42" to its messages; the path
/// already says where.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

fn validate(raw: RawCampaign) -> Result<Campaign, ConfigError> {
    let id = CampaignId::parse(&raw.id).ok_or_else(|| ConfigError::new("id", ID_RULE))?;

    let approved_partners = partners(&raw.approved_partners, "approved_partners")?;

    if let Some(code) = &raw.secure_code {
        if code.is_empty() || code.len() > MAX_SECURE_CODE_LEN {
            return Err(ConfigError::new(
                "secure_code",
                format!("must be 1 to {MAX_SECURE_CODE_LEN} bytes (leave it out for none)"),
            ));
        }
    }

    let allowed_ips = raw
        .allowed_ips
        .iter()
        .enumerate()
        .map(|(i, text)| {
            text.parse::<IpNet>()
                .or_else(|_| text.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    ConfigError::new(
                        format!("allowed_ips[{i}]"),
                        format!("{text:?} is not an IP address or CIDR range"),
                    )
                })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let url = &raw.landing_url;
    if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > MAX_URL_LEN {
        return Err(ConfigError::new(
            "landing_url",
            format!("must be an http(s) URL of at most {MAX_URL_LEN} characters"),
        ));
    }
    if !url.contains("{click_id}") {
        return Err(ConfigError::new(
            "landing_url",
            "must contain the {click_id} macro, or the advertiser never receives the click id",
        ));
    }

    if !(raw.currency.len() == 3 && raw.currency.bytes().all(|b| b.is_ascii_uppercase())) {
        return Err(ConfigError::new(
            "currency",
            "must be an ISO 4217 code such as USD",
        ));
    }

    let timezone = Timezone::parse(&raw.timezone).ok_or_else(|| {
        ConfigError::new(
            "timezone",
            format!(
                "{:?} is not an IANA timezone such as Europe/Berlin",
                raw.timezone
            ),
        )
    })?;

    let goals = goals(&raw.goals)?;
    let canonical_goal = |name: &str| {
        goals
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(name))
            .map(|g| g.id.clone())
    };

    let default_goal = match &raw.default_goal {
        None => None,
        Some(g) => Some(canonical_goal(g).ok_or_else(|| {
            ConfigError::new(
                "default_goal",
                format!("{g:?} is not one of the campaign's goals"),
            )
        })?),
    };

    if let (Some(min), Some(max)) = (raw.min_time_to_action, raw.max_time_to_action) {
        if min > max {
            return Err(ConfigError::new(
                "min_time_to_action",
                "must not be greater than max_time_to_action",
            ));
        }
    }

    if !(1..=MAX_DEDUPE_WINDOW_DAYS).contains(&raw.dedupe_window_days) {
        return Err(ConfigError::new(
            "dedupe_window_days",
            format!("must be a whole number of days from 1 to {MAX_DEDUPE_WINDOW_DAYS}"),
        ));
    }

    let payouts = raw
        .payouts
        .iter()
        .enumerate()
        .map(|(i, p)| payout(p, &format!("payouts[{i}]"), &canonical_goal))
        .collect::<Result<Vec<_>, _>>()?;

    let caps = raw
        .caps
        .iter()
        .enumerate()
        .map(|(i, c)| cap(c, &format!("caps[{i}]"), &canonical_goal))
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Campaign {
        id,
        status: raw.status,
        privacy: raw.privacy,
        approved_partners,
        secure_code: raw.secure_code,
        allowed_ips,
        landing_url: raw.landing_url,
        currency: raw.currency,
        timezone,
        default_goal,
        default_status: raw.default_status,
        goals,
        min_time_to_action: raw.min_time_to_action,
        max_time_to_action: raw.max_time_to_action,
        dedupe_window_days: raw.dedupe_window_days,
        payouts,
        caps,
    })
}

fn partners(list: &[String], field: &str) -> Result<Vec<PartnerId>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, p)| {
            PartnerId::parse(p).ok_or_else(|| {
                ConfigError::new(format!("{field}[{i}]"), format!("{p:?} {ID_RULE}"))
            })
        })
        .collect()
}

fn goals(raw: &[RawGoal]) -> Result<Vec<Goal>, ConfigError> {
    if raw.is_empty() {
        return Err(ConfigError::new("goals", "must list at least one goal"));
    }
    let mut goals: Vec<Goal> = Vec::with_capacity(raw.len());
    for (i, g) in raw.iter().enumerate() {
        let field = format!("goals[{i}].id");
        let printable = g.id.chars().all(|c| !c.is_control() && !c.is_whitespace());
        if g.id.is_empty() || g.id.len() > MAX_GOAL_LEN || !printable {
            return Err(ConfigError::new(
                field,
                format!("must be 1 to {MAX_GOAL_LEN} characters without spaces"),
            ));
        }
        if goals.iter().any(|seen| seen.id.eq_ignore_ascii_case(&g.id)) {
            return Err(ConfigError::new(
                field,
                format!(
                    "{:?} is listed twice (goal ids are matched without case)",
                    g.id
                ),
            ));
        }
        goals.push(Goal {
            id: g.id.clone(),
            name: g.name.clone(),
        });
    }
    Ok(goals)
}

fn goal_ref(
    name: &str,
    field: String,
    canonical_goal: &impl Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    canonical_goal(name).ok_or_else(|| {
        ConfigError::new(
            field,
            format!("{name:?} is not one of the campaign's goals"),
        )
    })
}

fn payout(
    raw: &RawPayout,
    at: &str,
    canonical_goal: &impl Fn(&str) -> Option<String>,
) -> Result<PayoutRule, ConfigError> {
    let goal = match &raw.goal {
        None => None,
        Some(g) => Some(goal_ref(g, format!("{at}.goal"), canonical_goal)?),
    };
    let countries = raw
        .countries
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let valid = c.len() == 2 && c.bytes().all(|b| b.is_ascii_uppercase());
            if valid {
                Ok(Country::from_code(c))
            } else {
                Err(ConfigError::new(
                    format!("{at}.countries[{i}]"),
                    format!("{c:?} is not a two-letter country code such as DE"),
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let partners = partners(&raw.partners, &format!("{at}.partners"))?;
    let amount = match (&raw.amount, &raw.percent) {
        (Some(a), None) => PayoutAmount::Fixed(money(a, &format!("{at}.amount"))?),
        (None, Some(p)) => {
            let field = format!("{at}.percent");
            let percent = money(p, &field)?;
            if percent > Money::from_units(100) {
                return Err(ConfigError::new(field, "must not be more than 100"));
            }
            PayoutAmount::Percent(percent)
        }
        _ => {
            return Err(ConfigError::new(
                at,
                "must have exactly one of `amount` (fixed) or `percent` (share of sum)",
            ))
        }
    };
    Ok(PayoutRule {
        goal,
        countries,
        partners,
        amount,
    })
}

fn cap(
    raw: &RawCap,
    at: &str,
    canonical_goal: &impl Fn(&str) -> Option<String>,
) -> Result<Cap, ConfigError> {
    let mut goals = raw
        .goals
        .iter()
        .enumerate()
        .map(|(i, g)| goal_ref(g, format!("{at}.goals[{i}]"), canonical_goal))
        .collect::<Result<Vec<_>, _>>()?;
    goals.sort();
    goals.dedup();
    let field = format!("{at}.value");
    let limit = match raw.kind {
        CapKind::Conversions => match &raw.value {
            Value::Number(n) if n.is_u64() => CapLimit::Conversions(n.as_u64().unwrap_or(0)),
            Value::Number(n) if n.is_i64() => {
                return Err(ConfigError::new(field, "must not be negative"))
            }
            _ => {
                return Err(ConfigError::new(
                    field,
                    "must be a whole number of conversions, such as 1000",
                ))
            }
        },
        CapKind::Budget => CapLimit::Budget(money(&raw.value, &field)?),
    };
    Ok(Cap::new(goals, raw.period, limit, raw.per_partner))
}

/// An amount of money from a config: a decimal string (`"1.20"`) or a
/// whole number. Fractional JSON numbers are refused: they are floats.
fn money(value: &Value, field: &str) -> Result<Money, ConfigError> {
    let parsed = match value {
        Value::String(s) => Money::parse(s),
        Value::Number(n) if n.is_u64() => Money::parse(&n.to_string()),
        Value::Number(n) if n.is_i64() => {
            return Err(ConfigError::new(field, "must not be negative"))
        }
        Value::Number(_) => {
            return Err(ConfigError::new(
                field,
                "must be a decimal string such as \"1.20\", not a floating-point number",
            ))
        }
        _ => {
            return Err(ConfigError::new(
                field,
                "must be a decimal string such as \"1.20\"",
            ))
        }
    };
    parsed.map_err(|e| ConfigError::new(field, e.to_string()))
}

#[cfg(test)]
mod tests;
