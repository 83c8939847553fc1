//! A campaign: the validated form of the JSON config stored in KV under
//! `campaign:{id}` (SPEC §5), and the stateless rules it decides — who may
//! convert, which goal, which payout.
//!
//! The only way to get a [`Campaign`] is [`Campaign::from_json`], which
//! validates everything; past it, no rule is checked again.

pub mod cache;
mod config;
mod json_path;
mod payout;

pub use config::ConfigError;

/// Longest campaign config `PUT /v1/campaigns/{id}` reads: a body past it
/// is refused while it is read.
pub const MAX_CONFIG_BYTES: usize = 64 * 1024;
pub use payout::PayoutRule;

use crate::click::Country;
use crate::ids::{CampaignId, PartnerId};
use crate::ledger::Cap;
use crate::money::Money;
use crate::status::Status;
use crate::timezone::Timezone;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Active,
    Paused,
    Disabled,
}

impl CampaignStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Active => "active",
            CampaignStatus::Paused => "paused",
            CampaignStatus::Disabled => "disabled",
        }
    }
}

/// Why a postback does not prove it comes from the advertiser
/// (`secure_code_invalid`'s `detail.problem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceProblem {
    /// The campaign has a secure code; the postback sent none.
    Missing,
    /// It sent another.
    Mismatch,
    /// It came from an address the campaign does not list (or none known).
    AddressNotAllowed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Privacy {
    Public,
    Premoderation,
    Private,
}

impl Privacy {
    pub fn as_str(self) -> &'static str {
        match self {
            Privacy::Public => "public",
            Privacy::Premoderation => "premoderation",
            Privacy::Private => "private",
        }
    }
}

/// A goal of a campaign (`install`, `purchase`, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Goal {
    pub id: String,
    pub name: Option<String>,
}

/// A validated campaign config.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    id: CampaignId,
    status: CampaignStatus,
    privacy: Privacy,
    approved_partners: Vec<PartnerId>,
    secure_code: Option<String>,
    allowed_ips: Vec<IpNet>,
    landing_url: String,
    currency: String,
    timezone: Timezone,
    default_goal: Option<String>,
    default_status: Status,
    goals: Vec<Goal>,
    min_time_to_action: Option<u64>,
    max_time_to_action: Option<u64>,
    dedupe_window_days: u32,
    payouts: Vec<PayoutRule>,
    caps: Vec<Cap>,
}

impl Campaign {
    /// Parses and validates a config. The error names the first bad field
    /// by its JSON path (`caps[1].value`).
    pub fn from_json(json: &str) -> Result<Campaign, ConfigError> {
        config::parse(json)
    }

    pub fn id(&self) -> &CampaignId {
        &self.id
    }

    pub fn status(&self) -> CampaignStatus {
        self.status
    }

    pub fn landing_url(&self) -> &str {
        &self.landing_url
    }

    pub fn currency(&self) -> &str {
        &self.currency
    }

    pub fn timezone(&self) -> &Timezone {
        &self.timezone
    }

    pub fn default_status(&self) -> Status {
        self.default_status
    }

    /// How many days a conversion's identity is remembered after its last
    /// change (1–730, default 180).
    pub fn dedupe_window_days(&self) -> u32 {
        self.dedupe_window_days
    }

    pub fn caps(&self) -> &[Cap] {
        &self.caps
    }

    /// The secure postback code, for redacting it from the log: compare a
    /// postback's with [`Campaign::source_problem`], never with this.
    pub fn secure_code(&self) -> Option<&str> {
        self.secure_code.as_deref()
    }

    /// Why a postback does not prove it comes from the advertiser, the
    /// code before the address; `None` if it does: the secure code, if the
    /// campaign has one, matches (in constant time, hashed first so that
    /// not even the length leaks), and the source address, if the campaign
    /// lists any, is among them.
    pub fn source_problem(
        &self,
        secure: Option<&str>,
        source: Option<IpAddr>,
    ) -> Option<SourceProblem> {
        match (&self.secure_code, secure) {
            (None, _) => {}
            (Some(_), None) => return Some(SourceProblem::Missing),
            (Some(expected), Some(given)) => {
                if !crate::secret::equal(expected, given) {
                    return Some(SourceProblem::Mismatch);
                }
            }
        }
        let ip_ok = self.allowed_ips.is_empty()
            || source.is_some_and(|ip| self.allowed_ips.iter().any(|net| net.contains(&ip)));
        (!ip_ok).then_some(SourceProblem::AddressNotAllowed)
    }

    pub fn privacy(&self) -> Privacy {
        self.privacy
    }

    /// The campaign's goal ids, as configured.
    pub fn goal_ids(&self) -> Vec<&str> {
        self.goals.iter().map(|g| g.id.as_str()).collect()
    }

    pub fn default_goal(&self) -> Option<&str> {
        self.default_goal.as_deref()
    }

    /// `min_time_to_action` and `max_time_to_action`, in seconds.
    pub fn time_window(&self) -> (Option<u64>, Option<u64>) {
        (self.min_time_to_action, self.max_time_to_action)
    }

    /// Whether the campaign takes conversions from `partner`: any partner
    /// for a public campaign, approved ones for private and premoderated.
    pub fn admits_partner(&self, partner: &PartnerId) -> bool {
        self.privacy == Privacy::Public || self.approved_partners.contains(partner)
    }

    /// The campaign's own spelling of a goal id, matched without regard to
    /// case; `None` (the requested goal absent) means the default goal.
    pub fn goal(&self, requested: Option<&str>) -> Option<&str> {
        let wanted = requested.or(self.default_goal.as_deref())?;
        self.goals
            .iter()
            .find(|g| g.id.eq_ignore_ascii_case(wanted))
            .map(|g| g.id.as_str())
    }

    /// Whether `seconds` from click to conversion is inside the campaign's
    /// window (both bounds inclusive; an absent bound does not limit).
    pub fn is_on_time(&self, seconds: u64) -> bool {
        self.min_time_to_action.is_none_or(|min| seconds >= min)
            && self.max_time_to_action.is_none_or(|max| seconds <= max)
    }

    /// The payout for a conversion, from the most specific matching rule
    /// (see [`PayoutRule::specificity`]); `None` when no rule matches.
    pub fn payout(
        &self,
        goal: &str,
        country: Country,
        partner: &PartnerId,
        sum: Option<Money>,
    ) -> Option<Money> {
        let mut best: Option<&PayoutRule> = None;
        for rule in self
            .payouts
            .iter()
            .filter(|r| r.matches(goal, country, partner))
        {
            // Strictly greater: among equally specific rules the first wins.
            if best.is_none_or(|b| rule.specificity() > b.specificity()) {
                best = Some(rule);
            }
        }
        best?.amount(sum)
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Campaign configs for tests, built from one base so that a test
    //! names only what it is about.
    use serde_json::{json, Value};

    pub fn base() -> Value {
        json!({
            "id": "1001",
            "status": "active",
            "privacy": "public",
            "approved_partners": ["77"],
            "landing_url": "https://shop.example/?cid={click_id}",
            "currency": "USD",
            "timezone": "Europe/Berlin",
            "default_goal": "1",
            "default_status": "pending",
            "goals": [{"id": "1", "name": "install"}, {"id": "Purchase"}],
            "min_time_to_action": 5,
            "max_time_to_action": 2592000,
            "payouts": [
                {"goal": "1", "countries": ["DE", "AT"], "amount": "1.20"},
                {"goal": "1", "amount": "0.50"},
                {"goal": "Purchase", "percent": "10"}
            ],
            "caps": []
        })
    }

    /// `base()` with the top-level fields of `patch` replaced.
    pub fn with(patch: Value) -> Value {
        let mut config = base();
        if let (Some(c), Value::Object(p)) = (config.as_object_mut(), patch) {
            for (k, v) in p {
                c.insert(k, v);
            }
        }
        config
    }

    pub fn campaign(config: Value) -> super::Campaign {
        super::Campaign::from_json(&config.to_string()).expect("fixture config is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use serde_json::json;

    fn partner(id: &str) -> PartnerId {
        PartnerId::parse(id).unwrap()
    }

    #[test]
    fn goals_match_without_case_and_default_when_absent() {
        let c = campaign(base());
        assert_eq!(c.goal(Some("purchase")), Some("Purchase"));
        assert_eq!(c.goal(Some("PURCHASE")), Some("Purchase"));
        assert_eq!(c.goal(None), Some("1"));
        assert_eq!(c.goal(Some("refund")), None);
        let no_default = campaign(with(json!({"default_goal": null})));
        assert_eq!(no_default.goal(None), None);
    }

    #[test]
    fn most_specific_payout_wins() {
        let c = campaign(base());
        let de = Country::from_code("DE");
        let us = Country::from_code("US");
        assert_eq!(
            c.payout("1", de, &partner("77"), None),
            Money::parse("1.20").ok()
        );
        assert_eq!(
            c.payout("1", us, &partner("77"), None),
            Money::parse("0.50").ok()
        );
        let sum = Money::parse("80.00").ok();
        assert_eq!(
            c.payout("Purchase", us, &partner("77"), sum),
            Money::parse("8").ok()
        );
        let only_geo = campaign(with(json!({"payouts": [
            {"goal": "1", "countries": ["DE"], "amount": "1"},
            {"goal": "1", "partners": ["9"], "amount": "2"},
            {"goal": "1", "partners": ["9"], "countries": ["DE"], "amount": "3"}
        ]})));
        assert_eq!(only_geo.payout("1", us, &partner("77"), None), None);
        assert_eq!(
            only_geo.payout("1", de, &partner("77"), None),
            Money::parse("1").ok()
        );
        assert_eq!(
            only_geo.payout("1", us, &partner("9"), None),
            Money::parse("2").ok()
        );
        assert_eq!(
            only_geo.payout("1", de, &partner("9"), None),
            Money::parse("3").ok()
        );
        assert_eq!(only_geo.payout("Purchase", de, &partner("9"), None), None);
    }

    #[test]
    fn percent_payout_without_sum_pays_nothing() {
        let c = campaign(base());
        let us = Country::from_code("US");
        assert_eq!(
            c.payout("Purchase", us, &partner("1"), None),
            Some(Money::ZERO)
        );
    }

    #[test]
    fn time_window_is_inclusive() {
        let c = campaign(base());
        assert!(!c.is_on_time(4));
        assert!(c.is_on_time(5));
        assert!(c.is_on_time(2_592_000));
        assert!(!c.is_on_time(2_592_001));
        let open = campaign(with(
            json!({"min_time_to_action": null, "max_time_to_action": null}),
        ));
        assert!(open.is_on_time(0) && open.is_on_time(u64::MAX));
    }

    #[test]
    fn privacy() {
        let public = campaign(base());
        assert!(public.admits_partner(&partner("5")));
        for privacy in ["private", "premoderation"] {
            let c = campaign(with(json!({"privacy": privacy})));
            assert!(c.admits_partner(&partner("77")));
            assert!(!c.admits_partner(&partner("5")), "{privacy}");
        }
    }

    #[test]
    fn secure_code_and_source_addresses() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        let problem = |c: &Campaign, secure: Option<&str>, source: Option<IpAddr>| {
            c.source_problem(secure, source)
        };
        let open = campaign(base());
        assert_eq!(problem(&open, None, None), None);
        let coded = campaign(with(json!({"secure_code": "s3cr3t"})));
        assert_eq!(problem(&coded, Some("s3cr3t"), None), None);
        assert_eq!(
            problem(&coded, Some("s3cr3"), None),
            Some(SourceProblem::Mismatch)
        );
        assert_eq!(
            problem(&coded, Some("S3CR3T"), None),
            Some(SourceProblem::Mismatch)
        );
        assert_eq!(problem(&coded, None, None), Some(SourceProblem::Missing));
        let fenced = campaign(with(
            json!({"allowed_ips": ["203.0.113.0/24", "2001:db8::1"]}),
        ));
        assert_eq!(problem(&fenced, None, ip("203.0.113.9")), None);
        assert_eq!(problem(&fenced, None, ip("2001:db8::1")), None);
        let outside = Some(SourceProblem::AddressNotAllowed);
        assert_eq!(problem(&fenced, None, ip("198.51.100.1")), outside);
        assert_eq!(problem(&fenced, None, None), outside);
        // The code is checked before the address.
        let both = campaign(with(
            json!({"secure_code": "s3cr3t", "allowed_ips": ["203.0.113.0/24"]}),
        ));
        assert_eq!(
            problem(&both, Some("no"), ip("198.51.100.1")),
            Some(SourceProblem::Mismatch)
        );
    }
}
