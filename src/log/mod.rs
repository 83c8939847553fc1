//! The postbacks log (SPEC §7): one entry per postback, accepted or not,
//! with what an operator needs to tell the advertiser what went wrong.
//!
//! Entries live in the campaign object of the campaign they name (or, for
//! postbacks that name no valid campaign, in one bounded store); a query
//! asks every store and [`merge`]s the answers, newest first.

pub mod bucket;
pub mod chunk;
pub mod export;
mod page;

pub use page::{local_zone, render_error_page, render_page};

use crate::catalog::{BadRequest, Refusal, Rejection};
use crate::ledger::Verdict;
use crate::params::Params;
use crate::postback::Postback;
use crate::redact::{hidden, is_secure_name, REDACTED};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Entries are kept at least this long.
pub const RETENTION_MS: u64 = 30 * 24 * 3600 * 1000;
/// Most entries kept for postbacks that name no valid campaign: junk
/// traffic cannot grow storage past this.
pub const MAX_UNATTRIBUTED: u32 = 10_000;
pub const DEFAULT_LIMIT: u32 = 100;
pub const MAX_LIMIT: u32 = 500;
/// Longest value kept per parameter.
const MAX_VALUE_LEN: usize = 512;

/// One postback, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Sortable: the time in milliseconds, zero-padded, then a random
    /// suffix. Newest first is descending id.
    pub id: String,
    pub time: String,
    pub campaign_id: Option<String>,
    pub click_id: Option<String>,
    pub goal: Option<String>,
    /// The status the postback asked for (or, accepted, the conversion's).
    pub status: Option<String>,
    /// `accepted` or `rejected`.
    pub result: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub reason: Option<String>,
    pub fix: Option<String>,
    pub conversion_id: Option<String>,
    /// The click's partner and country, once its id verified.
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub action_id: Option<String>,
    /// What the conversion pays, for an accepted postback.
    #[serde(default)]
    pub payout: Option<String>,
    /// The sender's address (`CF-Connecting-IP`).
    #[serde(default)]
    pub source_ip: Option<String>,
    /// The facts behind a rejection, as its answer gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    pub dry_run: bool,
    /// The parameters as received, `secure` redacted.
    pub params: BTreeMap<String, String>,
}

/// What the edge knows of a postback before its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogDraft {
    pub campaign_id: Option<String>,
    pub click_id: Option<String>,
    pub goal: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub partner_id: Option<String>,
    #[serde(default)]
    pub country: Option<String>,
    #[serde(default)]
    pub action_id: Option<String>,
    #[serde(default)]
    pub payout: Option<String>,
    #[serde(default)]
    pub source_ip: Option<String>,
    pub dry_run: bool,
    pub params: LoggedParams,
}

/// A postback's parameters on their way to the log, kept as they were
/// read (no copy); whenever they are shown or sent — serialized, turned
/// into an entry, or debug-printed — `secure` is redacted and long values
/// are cut.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct LoggedParams(Params);

impl std::fmt::Debug for LoggedParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.pairs()).finish()
    }
}

impl LoggedParams {
    /// What the log shows: by name, `secure` redacted, values cut at
    /// [`MAX_VALUE_LEN`] bytes.
    pub fn shown(&self) -> BTreeMap<String, String> {
        self.pairs()
            .map(|(n, v)| (n.to_owned(), v.into_owned()))
            .collect()
    }

    fn pairs(&self) -> impl Iterator<Item = (&str, Cow<'_, str>)> {
        self.0.iter().map(|(name, value)| {
            let value = if is_secure_name(name) {
                Cow::Borrowed(REDACTED)
            } else {
                clip(value)
            };
            (name, value)
        })
    }

    /// Redacts the campaign's secure code wherever it appears as a value:
    /// a value that equals it (as sent, or once percent-decoded), and, for
    /// a code of [`MIN_CODE_IN_VALUE`] characters or more, every
    /// occurrence of it inside a value or a name (a URL passed as a
    /// parameter, a macro wired into the wrong place).
    pub fn redact_value(&mut self, code: &str) {
        let mut changed = false;
        let mut redacted = Params::default();
        for (name, value) in self.0.iter() {
            let hidden_name = hidden(code, name, false);
            let hidden_value = hidden(code, value, true);
            changed |= hidden_name.is_some() || hidden_value.is_some();
            redacted.push_unchecked(
                hidden_name.as_deref().unwrap_or(name),
                hidden_value.as_deref().unwrap_or(value),
            );
        }
        if changed {
            self.0 = redacted;
        }
    }
}

impl Serialize for LoggedParams {
    /// As the log's entries hold them: by name, so that what goes over the
    /// wire comes back the same.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.shown().serialize(s)
    }
}

impl<'de> Deserialize<'de> for LoggedParams {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<LoggedParams, D::Error> {
        let shown = BTreeMap::<String, String>::deserialize(d)?;
        let mut params = Params::default();
        for (name, value) in &shown {
            params.push_unchecked(name, value);
        }
        Ok(LoggedParams(params))
    }
}

impl LogDraft {
    /// A draft from a readable postback, which it takes apart: the log
    /// keeps what the advertiser sent without copying it.
    pub fn from_postback(mut postback: Postback, dry_run: bool) -> LogDraft {
        LogDraft {
            campaign_id: postback.campaign_id.take(),
            click_id: postback.click_id.take(),
            goal: postback.goal.take(),
            status: postback.status.map(|s| s.as_str().to_owned()),
            action_id: postback.action_id.clone(),
            dry_run,
            params: LoggedParams(postback.into_params()),
            ..LogDraft::default()
        }
    }

    /// A draft from a query that could not be read: its pieces as sent,
    /// undecoded, `secure` redacted.
    pub fn from_unreadable(query: &str, dry_run: bool) -> LogDraft {
        let mut params = Params::default();
        for piece in query.split('&').filter(|p| !p.is_empty()).take(50) {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            params.push_unchecked(name, value);
        }
        LogDraft {
            dry_run,
            params: LoggedParams(params),
            ..LogDraft::default()
        }
    }

    /// Names the campaign the entry belongs to, once known.
    pub fn for_campaign(mut self, campaign_id: &str) -> LogDraft {
        self.campaign_id = Some(campaign_id.to_owned());
        self
    }

    /// Records the sender's address (`CF-Connecting-IP`), when the edge
    /// had no campaign to check it against.
    pub fn sent_from(mut self, source: Option<&str>) -> LogDraft {
        if self.source_ip.is_none() {
            self.source_ip = source.map(|s| s.trim().to_owned());
        }
        self
    }

    /// This draft with the campaign's secure code redacted from every
    /// value (see [`LoggedParams::redact_value`]).
    pub fn redacting(mut self, secure_code: Option<&str>) -> LogDraft {
        let Some(code) = secure_code else {
            return self;
        };
        self.params.redact_value(code);
        for field in [
            &mut self.campaign_id,
            &mut self.click_id,
            &mut self.goal,
            &mut self.action_id,
            &mut self.source_ip,
        ] {
            if let Some(shown) = field.as_deref().and_then(|t| hidden(code, t, true)) {
                *field = Some(shown);
            }
        }
        self
    }

    /// The entry for a refused postback. A catalog rejection is stored by
    /// its code alone (its texts are the catalog's, put back when the log
    /// is read: see [`LogEntry::with_texts`]); a `bad_request` keeps its
    /// texts, which name the parameter.
    pub fn refused(self, refusal: Refusal, now_ms: u64, suffix: u32) -> LogEntry {
        match refusal {
            Refusal::Rejected(rejection) => {
                let code = rejection.code().to_owned();
                self.entry(now_ms, suffix, "rejected", Some(code), |_| {})
            }
            Refusal::Detailed(rejection, detail) => {
                let code = rejection.code().to_owned();
                self.entry(now_ms, suffix, "rejected", Some(code), |e| {
                    // An update refused for a conversion is part of its
                    // history: `conversion_id=` finds it.
                    e.conversion_id = detail
                        .get("conversion_id")
                        .and_then(|id| id.as_str())
                        .map(str::to_owned);
                    e.detail = Some(detail.into_value());
                })
            }
            Refusal::BadRequest(_) => {
                let body = refusal.to_error_body();
                self.entry(
                    now_ms,
                    suffix,
                    "rejected",
                    Some(body.code.to_owned()),
                    |e| {
                        e.detail = body.detail.map(|d| d.into_owned().into_value());
                        e.message = Some(body.message.into_owned());
                        e.reason = Some(body.reason.into_owned());
                        e.fix = Some(body.fix.into_owned());
                    },
                )
            }
        }
    }

    /// The entry for what the campaign object decided.
    pub fn decided(self, verdict: &Verdict, now_ms: u64, suffix: u32) -> LogEntry {
        match verdict {
            Verdict::Accepted {
                conversion_id,
                conversion_status,
                ..
            } => self.entry(now_ms, suffix, "accepted", None, |e| {
                e.conversion_id = Some(conversion_id.clone());
                e.status = Some(conversion_status.as_str().to_owned());
            }),
            Verdict::Rejected { code, detail } => {
                let refusal = crate::reply::verdict_refusal(code, detail);
                self.refused(refusal, now_ms, suffix)
            }
        }
    }

    fn entry(
        self,
        now_ms: u64,
        suffix: u32,
        result: &str,
        code: Option<String>,
        fill: impl FnOnce(&mut LogEntry),
    ) -> LogEntry {
        let time = format_millis(now_ms);
        let mut entry = LogEntry {
            id: entry_id(now_ms, suffix),
            time,
            campaign_id: self.campaign_id,
            click_id: self.click_id,
            goal: self.goal,
            status: self.status,
            result: result.to_owned(),
            code,
            message: None,
            reason: None,
            fix: None,
            conversion_id: None,
            partner_id: self.partner_id,
            country: self.country,
            action_id: self.action_id,
            payout: self.payout,
            source_ip: self.source_ip,
            detail: None,
            dry_run: self.dry_run,
            params: self.params.shown(),
        };
        fill(&mut entry);
        entry
    }
}

/// RFC 3339 in UTC with milliseconds: `2026-11-24T10:00:00.123Z`.
pub fn format_millis(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    crate::time::format_rfc3339(ms.div_euclid(1000), Some(ms.rem_euclid(1000) as u32))
}

/// The id of an entry made at `now_ms`: sortable as text.
pub fn entry_id(now_ms: u64, suffix: u32) -> String {
    // `{now_ms:015}-{suffix:08x}`, without the formatting machinery (one
    // per log entry).
    let mut id = String::with_capacity(24);
    crate::time::push_padded(&mut id, now_ms, 15);
    id.push('-');
    for shift in (0..8).rev() {
        let nibble = (suffix >> (shift * 4)) & 0xf;
        id.push(char::from_digit(nibble, 16).unwrap_or('0'));
    }
    id
}

/// A value for the log: cut at [`MAX_VALUE_LEN`] bytes (on a character
/// boundary), with `…` to show it was.
fn clip(value: &str) -> Cow<'_, str> {
    if value.len() <= MAX_VALUE_LEN {
        return Cow::Borrowed(value);
    }
    let mut end = MAX_VALUE_LEN;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!("{}…", &value[..end]))
}

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
            return Err(BadRequest::new(
                name,
                format!(
                    "is not a filter of the log: use {}",
                    QUERY_PARAMETERS.join(", ")
                ),
            ));
        }
        let get = |n: &str| params.get(n).filter(|v| !v.is_empty()).map(str::to_owned);
        let since_id = match get("since") {
            None => None,
            Some(text) => Some(entry_id(parse_time("since", &text)?, 0)),
        };
        let until_id = match get("until") {
            None => None,
            Some(text) => Some(entry_id(parse_time("until", &text)?, 0)),
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
                || code == DRY_RUN
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
            let from = entry_id(u64::from(click.time).saturating_sub(3600) * 1000, 0);
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

/// One store's answer to a query: its newest matching entries, and its
/// counts per code over the query's campaign and time (not its code, so the
/// page can show the spread and offer each code as a filter).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// Per code; accepted postbacks count under `accepted`.
    pub counts: BTreeMap<String, u64>,
    /// The same postbacks per hour, for the page's chart.
    #[serde(default)]
    pub hours: Hours,
}

/// The JSON API's answer to a log query. Serialized straight to text: an
/// entry never goes through `serde_json::Value` (whose serializer would be
/// one more copy of every entry's code in the wasm).
#[derive(Serialize)]
pub struct LogAnswer<'a> {
    pub entries: &'a [LogEntry],
    pub counts: &'a BTreeMap<String, u64>,
    pub next_before: Option<&'a str>,
    /// The oldest time the counts reach, when a long range was cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted_since: Option<String>,
}

/// Postbacks per hour (keyed by the hour's first millisecond, UTC) by
/// result: `[accepted, rejected]`; dry runs are not traffic, and not drawn.
pub type Hours = BTreeMap<u64, [u64; 2]>;

pub const HOUR_MS: u64 = 3_600_000;

/// Adds `n` postbacks of `code` at `ms` to `hours`.
pub fn tally_hour(hours: &mut Hours, ms: u64, code: &str, n: u64) {
    if code == DRY_RUN {
        return;
    }
    let bar = hours.entry(ms - ms % HOUR_MS).or_default();
    bar[usize::from(code != "accepted")] += n;
}

/// The answers of several stores as one: newest first, at most `limit`,
/// counts added up.
pub fn merge(pages: Vec<LogPage>, limit: u32) -> LogPage {
    let mut merged = LogPage::default();
    for page in pages {
        merged.entries.extend(page.entries);
        for (code, n) in page.counts {
            *merged.counts.entry(code).or_default() += n;
        }
        for (hour, [accepted, rejected]) in page.hours {
            let bar = merged.hours.entry(hour).or_default();
            bar[0] += accepted;
            bar[1] += rejected;
        }
    }
    newest_first(&mut merged.entries);
    merged.entries.truncate(limit as usize);
    merged.entries = merged
        .entries
        .into_iter()
        .map(LogEntry::with_texts)
        .collect();
    merged
}

/// Sorts entries newest first (ids are unique: no order to keep among
/// equals). The one sort of entries in the wasm, for every caller.
pub fn newest_first(entries: &mut [LogEntry]) {
    entries.sort_unstable_by(|a, b| b.id.cmp(&a.id));
}

impl LogEntry {
    /// The entry as users read it: a catalog rejection stored by its code
    /// gets the catalog's message, reason and fix back.
    pub fn with_texts(mut self) -> LogEntry {
        if let Some(rejection) = self.code.as_deref().and_then(Rejection::from_code) {
            self.message
                .get_or_insert_with(|| rejection.message().to_owned());
            self.reason
                .get_or_insert_with(|| rejection.reason().to_owned());
            self.fix.get_or_insert_with(|| rejection.fix().to_owned());
        }
        self
    }
}

/// What a dry run (`/postback/check`) counts and filters as, whatever its
/// result: an advertiser testing an integration must not look like
/// traffic, accepted or refused.
pub const DRY_RUN: &str = "dry_run";

/// The key an entry is counted (and filtered by `code=`) under: its code,
/// `accepted`, or [`DRY_RUN`].
pub fn count_key(entry: &LogEntry) -> &str {
    if entry.dry_run {
        DRY_RUN
    } else {
        entry.code.as_deref().unwrap_or("accepted")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Rejection;
    use crate::status::Status;

    fn draft(query: &str) -> LogDraft {
        let postback = Postback::from_params(Params::from_query(query).unwrap()).unwrap();
        LogDraft::from_postback(postback, false)
    }

    #[test]
    fn entry_ids_sort_as_their_times() {
        for (ms, suffix) in [
            (0, 0),
            (7, 0xdead_beef),
            (1_790_000_000_123, 42),
            (u64::MAX, u32::MAX),
        ] {
            assert_eq!(entry_id(ms, suffix), format!("{ms:015}-{suffix:08x}"));
        }
        assert!(entry_id(999, u32::MAX) < entry_id(1000, 0));
    }

    #[test]
    fn times_have_milliseconds_always() {
        assert_eq!(format_millis(1_790_000_000_123), "2026-09-21T14:13:20.123Z");
        assert_eq!(format_millis(1_790_000_000_000), "2026-09-21T14:13:20.000Z");
    }

    #[test]
    fn refused_entries_carry_the_catalog_texts_and_redact_secure() {
        let e = draft("click_id=abc&secure=s3cr3t&goal=1&x=1")
            .for_campaign("1001")
            .refused(Rejection::SecureCodeInvalid.into(), 1_790_000_000_123, 7);
        assert_eq!(e.result, "rejected");
        assert_eq!(e.code.as_deref(), Some("secure_code_invalid"));
        // Stored by code; read with the catalog's texts.
        assert_eq!((&e.message, &e.reason, &e.fix), (&None, &None, &None));
        let read = e.clone().with_texts();
        assert_eq!(read.message.as_deref(), Some("Secure code is not valid"));
        assert_eq!(
            read.reason.as_deref(),
            Some(Rejection::SecureCodeInvalid.reason())
        );
        assert!(read.fix.as_deref().unwrap().contains("secure="));
        assert_eq!(e.params["secure"], "[redacted]");
        assert_eq!(e.params["x"], "1");
        assert_eq!(e.campaign_id.as_deref(), Some("1001"));
        assert_eq!(e.time, "2026-09-21T14:13:20.123Z");
        assert_eq!(e.id, "001790000000123-00000007");
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("s3cr3t"));
    }

    #[test]
    fn accepted_entries_name_the_conversion() {
        let verdict = Verdict::Accepted {
            conversion_id: "cv_1".into(),
            conversion_status: Status::Approved,
            created: true,
        };
        let e = draft("click_id=abc").decided(&verdict, 1, 1);
        assert_eq!(e.result, "accepted");
        assert_eq!(e.code, None);
        assert_eq!(e.conversion_id.as_deref(), Some("cv_1"));
        assert_eq!(e.status.as_deref(), Some("approved"));
        assert_eq!(count_key(&e), "accepted");
        let checked = LogDraft::from_postback(
            Postback::from_params(Params::from_query("click_id=abc").unwrap()).unwrap(),
            true,
        )
        .decided(&verdict, 1, 1);
        assert_eq!(checked.result, "accepted", "a dry run says its result");
        assert_eq!(count_key(&checked), DRY_RUN, "and counts apart");
        let rejected = draft("click_id=abc").decided(
            &Verdict::Rejected {
                code: "cap_reached".into(),
                detail: None,
            },
            1,
            1,
        );
        assert_eq!(
            rejected.with_texts().message.as_deref(),
            Some("Campaign cap is reached, conversion is rejected")
        );
    }

    #[test]
    fn drafts_never_show_or_send_the_secure_code() {
        let d = draft(&format!(
            "click_id=abc&secure=s3cr3t&note={}",
            "n".repeat(600)
        ));
        let wire = serde_json::to_string(&d).unwrap();
        assert!(!wire.contains("s3cr3t"), "{wire}");
        assert!(!format!("{d:?}").contains("s3cr3t"));
        let back: LogDraft = serde_json::from_str(&wire).unwrap();
        assert_eq!(back.params.shown(), d.params.shown());
        assert_eq!(back.params.shown()["secure"], "[redacted]");
        assert_eq!(
            back.params.shown()["note"].len(),
            MAX_VALUE_LEN + '…'.len_utf8()
        );
        assert_eq!(serde_json::to_string(&back).unwrap(), wire);
    }

    /// Every way an advertiser (or an attacker) has been seen to send the
    /// secure code, readable or not: none reaches what the log shows or
    /// stores, once the campaign's code is known.
    #[test]
    fn the_secure_code_is_redacted_however_it_is_sent() {
        const CODE: &str = "TOPSECRET42";
        let readable = [
            "secure=TOPSECRET42",
            "SECURE=TOPSECRET42",
            "Secure=TOPSECRET42",
            "secure%00=TOPSECRET42",
            "se%63ure=TOPSECRET42",
            "secure%5B%5D=TOPSECRET42",
            "%2573ecure=TOPSECRET42",
            "+secure=TOPSECRET42",
            "token=TOPSECRET42",
            "token=%54OPSECRET42",
            "ref=https%3A%2F%2Fshop.example%2F%3Fsecure%3DTOPSECRET42",
            "note=the+code+is+TOPSECRET42",
            "secure_code=x&TOPSECRET42=1",
        ];
        for query in readable {
            let d = draft(&format!("click_id=abc&{query}")).redacting(Some(CODE));
            let stored = serde_json::to_string(&d).unwrap();
            let shown = serde_json::to_string(&d.params.shown()).unwrap();
            let debug = format!("{d:?}");
            for out in [&stored, &shown, &debug] {
                assert!(!out.contains(CODE), "{query}: {out}");
            }
            assert!(stored.contains(REDACTED), "{query}: {stored}");
        }
        let unreadable = [
            "%73ecure=TOPSECRET42&sum=%zz",
            "secure=TOPSECRET42&secure=other",
            "SECURE=TOPSECRET42&sum=%zz",
            "token=TOPSECRET42&sum=%zz",
            "token=TOPSECRET%342&sum=%zz",
            "secure=TOP%zzSECRET42",
        ];
        for query in unreadable {
            assert!(Params::from_query(query)
                .and_then(Postback::from_params)
                .is_err());
            let d = LogDraft::from_unreadable(query, false).redacting(Some(CODE));
            let stored = serde_json::to_string(&d).unwrap();
            assert!(!stored.contains(CODE), "{query}: {stored}");
            // By name alone, before the campaign is known.
            let by_name = LogDraft::from_unreadable(query, false);
            for (name, value) in by_name.params.shown() {
                if is_secure_name(&name) {
                    assert_eq!(value, REDACTED, "{query}");
                }
            }
        }
        // JSON bodies: an escaped name is the name.
        let json = Params::from_post(
            "",
            crate::params::BodyKind::Json,
            br#"{"click_id":"abc","\u0053ECURE":"TOPSECRET42","x":"TOPSECRET42"}"#,
        )
        .unwrap();
        let d = LogDraft::from_postback(Postback::from_params(json).unwrap(), false)
            .redacting(Some(CODE));
        assert!(!serde_json::to_string(&d).unwrap().contains(CODE));
        // The fields a draft names are redacted too (a goal or an action id
        // that is, or holds, the code).
        let d =
            draft("click_id=abc&goal=TOPSECRET42&action_id=x-TOPSECRET42").redacting(Some(CODE));
        assert_eq!(d.goal.as_deref(), Some(REDACTED));
        assert_eq!(d.action_id.as_deref(), Some("x-[redacted]"));
    }

    #[test]
    fn only_secure_names_and_the_code_are_redacted() {
        let d = draft("click_id=abc&goal=1&note=hello&sum=10").redacting(Some("s3cr3t"));
        let shown = d.params.shown();
        assert_eq!(shown["note"], "hello");
        assert_eq!(shown["sum"], "10");
        // A short code is redacted only whole, not inside other text.
        let d = draft("click_id=abc&a=1&b=21").redacting(Some("1"));
        assert_eq!(d.params.shown()["a"], REDACTED);
        assert_eq!(d.params.shown()["b"], "21");
        for name in [
            "secure",
            "SECURE",
            "secure\0",
            "%73ecure",
            "sec%75re",
            "x_secure_y",
            "ssecure",
            "sesecure",
            "%2573ecure",
            "s.e-c_u r+e",
            "s%ecure",
        ] {
            assert!(is_secure_name(name), "{name}");
        }
        for name in [
            "sum", "goal", "sec", "cure", "click_id", "secur", "%73ecur", "secu%",
        ] {
            assert!(!is_secure_name(name), "{name}");
        }
    }

    #[test]
    fn unreadable_queries_are_logged_raw_and_redacted() {
        let d = LogDraft::from_unreadable("click_id=a&sum=%zz&secure=s3cr3t", false);
        assert_eq!(d.params.shown()["sum"], "%zz");
        assert_eq!(d.params.shown()["secure"], "[redacted]");
        let long = LogDraft::from_postback(
            Postback::from_params(
                Params::from_query(&format!("note={}", "é".repeat(600))).unwrap(),
            )
            .unwrap(),
            false,
        );
        assert!(long.params.shown()["note"].len() <= MAX_VALUE_LEN + 3);
    }

    #[test]
    fn queries() {
        let q = |s: &str| LogQuery::from_params(&Params::from_query(s).unwrap());
        assert_eq!(q("").unwrap().limit, DEFAULT_LIMIT);
        assert_eq!(
            q("since=1790000000").unwrap().since_id.unwrap(),
            entry_id(1_790_000_000_000, 0)
        );
        assert_eq!(
            q("since=2026-09-21T14:13:20Z").unwrap().since_id.unwrap(),
            entry_id(1_790_000_000_000, 0)
        );
        assert_eq!(q("since=yesterday").unwrap_err().parameter(), "since");
        assert_eq!(q("until=soon").unwrap_err().parameter(), "until");
        assert_eq!(q("click=x").unwrap_err().parameter(), "click");
        assert_eq!(q("campaign=1001").unwrap_err().parameter(), "campaign");
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
        assert_eq!(until.before, Some(entry_id(1_790_000_000_000, 0)));
        let both = q(&format!(
            "until=1790000000&before={}",
            entry_id(1_700_000_000_000, 1)
        ))
        .unwrap();
        assert_eq!(both.before, Some(entry_id(1_700_000_000_000, 1)));
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
        assert_eq!(by_click.since_id, Some(entry_id(1_789_996_400_000, 0)));
        let mut later = q("click_id=x&since=1800000000&campaign_id=1001").unwrap();
        later.narrow(Some(&click));
        assert_eq!(later.campaign_id.as_deref(), Some("1001"));
        assert_eq!(later.since_id, Some(entry_id(1_800_000_000_000, 0)));
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
    fn hours_tally_by_result_at_the_start_of_their_hour() {
        let mut hours = Hours::new();
        tally_hour(&mut hours, 2 * HOUR_MS + 59_999, "accepted", 2);
        tally_hour(&mut hours, 2 * HOUR_MS, "cap_reached", 1);
        tally_hour(&mut hours, 3 * HOUR_MS, "bad_request", 4);
        assert_eq!(hours, [(2 * HOUR_MS, [2, 1]), (3 * HOUR_MS, [0, 4])].into());
    }

    #[test]
    fn merge_is_newest_first_and_adds_counts() {
        let entry = |ms| draft("click_id=a").refused(Rejection::CapReached.into(), ms, 0);
        let a = LogPage {
            entries: vec![entry(5), entry(1)],
            counts: [("cap_reached".into(), 2)].into(),
            hours: [(0, [0, 2])].into(),
        };
        let b = LogPage {
            entries: vec![entry(4), entry(3)],
            counts: [("cap_reached".into(), 2), ("accepted".into(), 9)].into(),
            hours: [(0, [9, 2]), (HOUR_MS, [0, 0])].into(),
        };
        let merged = merge(vec![a, b], 3);
        let ids: Vec<_> = merged.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, [entry_id(5, 0), entry_id(4, 0), entry_id(3, 0)]);
        assert_eq!(merged.counts["cap_reached"], 4);
        assert_eq!(merged.counts["accepted"], 9);
        assert_eq!(merged.hours, [(0, [9, 4]), (HOUR_MS, [0, 0])].into());
        // What is read carries the catalog's texts.
        assert!(merged
            .entries
            .iter()
            .all(|e| e.message.as_deref() == Some(Rejection::CapReached.message())));
    }

    #[test]
    fn chunks_carry_whole_entries_redacted_with_their_counts() {
        let refused = draft("click_id=c1&secure=s3cret").refused(
            Refusal::Rejected(Rejection::GoalNotFound),
            1_700_000_000_000,
            7,
        );
        let accepted = LogDraft::from_postback(
            Postback::from_params(Params::from_query("click_id=c2").unwrap()).unwrap(),
            false,
        )
        .for_campaign("summer");
        let accepted = accepted.decided(
            &Verdict::Accepted {
                conversion_id: "cv_1".into(),
                conversion_status: Status::Approved,
                created: true,
            },
            1_700_000_000_001,
            8,
        );
        let (meta, body) = chunk::chunk_of([&refused, &accepted]);
        assert_eq!(
            chunk::entries(&body).unwrap(),
            vec![refused.clone(), accepted.clone()]
        );
        // The refused entry names no campaign, the accepted one does.
        assert_eq!(meta.campaign, None);
        assert_eq!(meta.codes, r#"{"accepted":1,"goal_not_found":1}"#);
        // Redacted in the stored text as everywhere else.
        assert!(!body.contains("s3cret"));
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
