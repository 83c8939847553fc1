//! A log query (SPEC §7): the filters a reader asks for, read and
//! checked from the request's parameters.

use super::id::bound;
use crate::catalog::{BadRequest, Rejection};
use crate::params::Params;
use serde::{Deserialize, Serialize};

/// Entries a page holds when the reader does not say.
pub const DEFAULT_LIMIT: u32 = 100;
/// Most entries one page holds.
pub const MAX_LIMIT: u32 = 500;

/// A log query (SPEC §7): `campaign_id`, `code` (`accepted` or a
/// catalog code), `click_id`, `action_id`, `conversion_id`, `partner_id`,
/// `since` and `until` (RFC 3339 or Unix seconds; `since` inclusive,
/// `until` exclusive), `before` (an entry id: the page after it), `limit`.
/// It crosses to a store as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogQuery {
    pub campaign_id: Option<String>,
    pub code: Option<String>,
    #[serde(default)]
    pub click_id: Option<String>,
    #[serde(default)]
    pub action_id: Option<String>,
    #[serde(default)]
    pub conversion_id: Option<String>,
    #[serde(default)]
    pub partner_id: Option<String>,
    /// Lower bound, as an entry id prefix.
    pub since_id: Option<String>,
    /// Upper bound (exclusive): `until`, or the page cursor, whichever is
    /// older.
    pub before: Option<String>,
    pub limit: u32,
}

/// What the edge asks of a store that answers queries itself (the
/// unattributed log's object): the query, and whether it counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoreQuery {
    pub query: LogQuery,
    pub counting: bool,
}

/// Every parameter a log query reads: anything else is refused, never
/// ignored (a misspelt filter would otherwise answer everything).
pub const QUERY_PARAMETERS: [&str; 12] = [
    "campaign_id",
    "code",
    "click_id",
    "action_id",
    "conversion_id",
    "partner_id",
    "since",
    "until",
    "before",
    "limit",
    "format",
    "local_time",
];

impl LogQuery {
    pub fn from_params(params: &Params) -> Result<LogQuery, BadRequest> {
        if let Some((name, _)) = params.iter().find(|(n, _)| !QUERY_PARAMETERS.contains(n)) {
            // Named as sent: `amount`, not the `sum` it reads as.
            let sent = params.get_as_sent(name).map_or(name, |(sent, _)| sent);
            return Err(BadRequest::new(
                sent,
                format!(
                    "is not a filter of the log: use {}",
                    QUERY_PARAMETERS.join(", ")
                ),
            ));
        }
        let get = |n: &str| params.get(n).filter(|v| !v.is_empty()).map(str::to_owned);
        let since_id = match get("since") {
            None => None,
            Some(text) => Some(bound(parse_time("since", &text)?)),
        };
        let until_id = match get("until") {
            None => None,
            Some(text) => Some(bound(parse_time("until", &text)?)),
        };
        let before = match (get("before"), until_id) {
            (Some(b), Some(u)) => Some(b.min(u)),
            (b, u) => b.or(u),
        };
        let limit = match get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(BadRequest::new(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    ))
                }
            },
        };
        let code = get("code");
        if let Some(code) = &code {
            let known = code == "accepted"
                || code == super::DRY_RUN
                || code == BadRequest::CODE
                || Rejection::from_code(code).is_some();
            if !known {
                return Err(BadRequest::new(
                    "code",
                    "is not a result of the catalog: accepted, dry_run, bad_request or a rejection code",
                ));
            }
        }
        let id = |name: &str, valid: fn(&str) -> bool| -> Result<Option<String>, BadRequest> {
            match get(name) {
                Some(v) if !valid(&v) => Err(BadRequest::new(name, crate::ids::ID_RULE)),
                v => Ok(v),
            }
        };
        Ok(LogQuery {
            campaign_id: id("campaign_id", |v| {
                crate::ids::CampaignId::parse(v).is_some()
            })?,
            partner_id: id("partner_id", |v| crate::ids::PartnerId::parse(v).is_some())?,
            code,
            click_id: get("click_id"),
            action_id: get("action_id"),
            conversion_id: get("conversion_id"),
            since_id,
            before,
            limit,
        })
    }

    /// Reads only where a click's or a conversion's entries can be: a
    /// click id names its campaign and time (postbacks come after their
    /// click; an hour is left for the clock of another minting system),
    /// a conversion id its campaign. `click` is the query's `click_id`,
    /// verified. A filter the query already has is kept.
    pub fn narrow(&mut self, click: Option<&crate::click::Click>) {
        if let Some(click) = click {
            self.campaign_id
                .get_or_insert_with(|| click.campaign.as_str().to_owned());
            let from = bound(u64::from(click.time).saturating_sub(3600) * 1000);
            if self.since_id.as_ref().is_none_or(|since| *since < from) {
                self.since_id = Some(from);
            }
        }
        if let Some(campaign) = self
            .conversion_id
            .as_deref()
            .and_then(crate::ledger::conversion_campaign)
        {
            if self.campaign_id.is_none() {
                self.campaign_id = Some(campaign.to_owned());
            }
        }
    }

    /// Whether a query handed to a store is one the edge could have
    /// made: a limit in range.
    pub fn is_valid(&self) -> bool {
        (1..=MAX_LIMIT).contains(&self.limit)
    }

    /// The query string that shows the next page after `last`.
    pub fn next_page(&self, last: &str, since: Option<&str>) -> String {
        let mut pairs = vec![];
        let filters = [
            ("campaign_id", &self.campaign_id),
            ("code", &self.code),
            ("click_id", &self.click_id),
            ("action_id", &self.action_id),
            ("conversion_id", &self.conversion_id),
            ("partner_id", &self.partner_id),
        ];
        for (name, value) in filters {
            if let Some(value) = value {
                pairs.push((name, value.as_str()));
            }
        }
        if let Some(s) = since {
            pairs.push(("since", s));
        }
        let limit = self.limit.to_string();
        pairs.push(("limit", &limit));
        pairs.push(("before", last));
        pairs
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v)))
            .collect::<Vec<_>>()
            .join("&")
    }
}

/// A query string value, percent-encoded.
fn encode(value: &str) -> percent_encoding::PercentEncode<'_> {
    percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC)
}

fn parse_time(name: &str, text: &str) -> Result<u64, BadRequest> {
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(seconds.saturating_mul(1000));
    }
    crate::time::parse_rfc3339(text)
        .and_then(|seconds| u64::try_from(seconds).ok())
        .map(|seconds| seconds.saturating_mul(1000))
        .ok_or_else(|| {
            BadRequest::new(
                name,
                "must be an RFC 3339 time (2026-11-24T10:00:00Z) or Unix seconds",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries() {
        let q = |s: &str| LogQuery::from_params(&Params::from_query(s).unwrap());
        assert_eq!(q("").unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(
            q("since=1790000000").unwrap().since_id.unwrap(),
            bound(1_790_000_000_000)
        );
        assert_eq!(
            q("since=2026-09-21T14:13:20Z").unwrap().since_id.unwrap(),
            bound(1_790_000_000_000)
        );
        assert_eq!(q("since=yesterday").unwrap_err().parameter(), "since");
        assert_eq!(q("until=soon").unwrap_err().parameter(), "until");
        assert_eq!(q("click=x").unwrap_err().parameter(), "click");
        assert_eq!(q("campaign=1001").unwrap_err().parameter(), "campaign");
        // A name of ours for a postback parameter is named as it was sent.
        assert_eq!(q("sale_amount=5").unwrap_err().parameter(), "sale_amount");
        assert_eq!(q("code=nonsense").unwrap_err().parameter(), "code");
        assert_eq!(
            q("campaign_id=not%20an%20id").unwrap_err().parameter(),
            "campaign_id"
        );
        assert_eq!(q("partner_id=a/b").unwrap_err().parameter(), "partner_id");
        for code in ["accepted", "bad_request", "cap_reached", "internal_error"] {
            assert_eq!(
                q(&format!("code={code}")).unwrap().code.as_deref(),
                Some(code)
            );
        }
        // `until` bounds the range like a cursor; the older of the two wins.
        let until = q("until=1790000000").unwrap();
        assert_eq!(until.before, Some(bound(1_790_000_000_000)));
        let both = q(&format!(
            "until=1790000000&before={}",
            super::super::id::entry_id(1_700_000_000_000, 1)
        ))
        .unwrap();
        assert_eq!(
            both.before,
            Some(super::super::id::entry_id(1_700_000_000_000, 1))
        );
        // A conversion's entries are in its campaign; a click's in its
        // campaign, from (about) its time on.
        let mut conversion = q("conversion_id=cv_1001_AAAAAAAAAAAAAAAA").unwrap();
        conversion.narrow(None);
        assert_eq!(conversion.campaign_id.as_deref(), Some("1001"));
        let click = crate::click::Click {
            campaign: crate::ids::CampaignId::parse("2002").unwrap(),
            partner: crate::ids::PartnerId::parse("77").unwrap(),
            time: 1_790_000_000,
            country: crate::click::Country::UNKNOWN,
            nonce: [0; 4],
        };
        let mut by_click = q("click_id=x").unwrap();
        by_click.narrow(Some(&click));
        assert_eq!(by_click.campaign_id.as_deref(), Some("2002"));
        assert_eq!(by_click.since_id, Some(bound(1_789_996_400_000)));
        let mut later = q("click_id=x&since=1800000000&campaign_id=1001").unwrap();
        later.narrow(Some(&click));
        assert_eq!(later.campaign_id.as_deref(), Some("1001"));
        assert_eq!(later.since_id, Some(bound(1_800_000_000_000)));
        let fields = q("click_id=c&action_id=a&conversion_id=cv_1&partner_id=77").unwrap();
        assert_eq!(
            (
                fields.click_id,
                fields.action_id,
                fields.conversion_id,
                fields.partner_id
            ),
            (
                Some("c".into()),
                Some("a".into()),
                Some("cv_1".into()),
                Some("77".into())
            )
        );
        assert_eq!(q("limit=0").unwrap_err().parameter(), "limit");
        assert_eq!(q("limit=501").unwrap_err().parameter(), "limit");
        let query = q("campaign_id=1001&code=cap_reached&limit=2").unwrap();
        assert_eq!(
            query.next_page("0001-x", None),
            "campaign_id=1001&code=cap%5Freached&limit=2&before=0001%2Dx"
        );
    }

    #[test]
    fn a_store_refuses_a_limit_the_edge_would_not_send() {
        for limit in [1, DEFAULT_LIMIT, MAX_LIMIT] {
            assert!(LogQuery {
                limit,
                ..LogQuery::default()
            }
            .is_valid());
        }
        for limit in [0, MAX_LIMIT + 1] {
            assert!(!LogQuery {
                limit,
                ..LogQuery::default()
            }
            .is_valid());
        }
    }
}
