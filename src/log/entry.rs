//! One postback as the log shows it ([`LogEntry`]): what the edge knew of
//! it (its [`LogDraft`]) and its outcome, built at the edge once the
//! outcome is known.

use super::draft::LogDraft;
use super::id::entry_id;
use crate::catalog::{Refusal, Rejection};
use crate::ledger::Verdict;
use serde::{Deserialize, Serialize};

/// What a dry run (`/postback/check`) counts and filters as, whatever its
/// result: an advertiser testing an integration must not look like
/// traffic, accepted or refused.
pub const DRY_RUN: &str = "dry_run";

/// One postback, as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Sortable as its time (`log::id`): newest first is descending id.
    pub id: String,
    pub time: String,
    /// What the edge knew of the postback.
    #[serde(flatten)]
    pub postback: LogDraft,
    /// `accepted` or `rejected`.
    pub result: String,
    pub code: Option<String>,
    pub message: Option<String>,
    pub reason: Option<String>,
    pub fix: Option<String>,
    pub conversion_id: Option<String>,
    /// The facts behind a rejection, as its answer gave them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

impl LogDraft {
    /// The entry for a refused postback. A catalog rejection is stored by
    /// its code alone (its texts are the catalog's, put back when the log
    /// is read: see [`LogEntry::with_texts`]); a `bad_request` keeps its
    /// texts, which name the parameter.
    pub fn refused(self, refusal: Refusal, now_ms: u64, suffix: u32) -> LogEntry {
        let mut entry = self.entry(now_ms, suffix, "rejected", Some(refusal.code()));
        match refusal {
            Refusal::Rejected(_) => {
                // The detail its answer carries (`{"retry": true}` for an
                // internal failure), so the log says what the answer said.
                entry.detail = refusal
                    .to_error_body()
                    .detail
                    .map(|d| d.into_owned().into_value());
            }
            Refusal::Detailed(_, detail) => {
                // An update refused for a conversion is part of its
                // history: `conversion_id=` finds it.
                entry.conversion_id = detail
                    .get("conversion_id")
                    .and_then(|id| id.as_str())
                    .map(str::to_owned);
                entry.detail = Some(detail.into_value());
            }
            Refusal::BadRequest(_) => {
                let body = refusal.to_error_body();
                entry.detail = body.detail.map(|d| d.into_owned().into_value());
                entry.message = Some(body.message.into_owned());
                entry.reason = Some(body.reason.into_owned());
                entry.fix = Some(body.fix.into_owned());
            }
        }
        entry
    }

    /// The entry for what the campaign object decided.
    pub fn decided(self, verdict: &Verdict, now_ms: u64, suffix: u32) -> LogEntry {
        match verdict {
            Verdict::Accepted {
                conversion_id,
                conversion_status,
                ..
            } => {
                let mut entry = self.entry(now_ms, suffix, "accepted", None);
                entry.conversion_id = Some(conversion_id.clone());
                entry.postback.status = Some(conversion_status.as_str().to_owned());
                entry
            }
            Verdict::Rejected { code, detail } => {
                self.refused(Verdict::refusal(code, detail), now_ms, suffix)
            }
        }
    }

    fn entry(self, now_ms: u64, suffix: u32, result: &str, code: Option<&str>) -> LogEntry {
        LogEntry {
            id: entry_id(now_ms, suffix),
            time: format_millis(now_ms),
            postback: self,
            result: result.to_owned(),
            code: code.map(str::to_owned),
            message: None,
            reason: None,
            fix: None,
            conversion_id: None,
            detail: None,
        }
    }
}

/// Sorts entries newest first (ids are unique: no order to keep among
/// equals).
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

    /// The key the entry is counted (and filtered by `code=`) under: its
    /// code, `accepted`, or [`DRY_RUN`].
    pub fn count_key(&self) -> &str {
        if self.postback.dry_run {
            DRY_RUN
        } else {
            self.code.as_deref().unwrap_or("accepted")
        }
    }

    /// The campaign the entry names, `""` when it names none: how chunks
    /// count entries per campaign.
    pub fn campaign(&self) -> &str {
        self.postback.campaign_id.as_deref().unwrap_or("")
    }
}

/// RFC 3339 in UTC with milliseconds: `2026-11-24T10:00:00.123Z`.
pub fn format_millis(ms: u64) -> String {
    let ms = i64::try_from(ms).unwrap_or(i64::MAX);
    crate::time::format_rfc3339(ms.div_euclid(1000), Some(ms.rem_euclid(1000) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;
    use crate::postback::Postback;
    use crate::status::Status;

    fn draft(query: &str) -> LogDraft {
        let postback = Postback::from_params(Params::from_query(query).unwrap()).unwrap();
        LogDraft::from_postback(postback, false)
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
        let shown = e.postback.params.shown();
        assert_eq!(shown["secure"], "[redacted]");
        assert_eq!(shown["x"], "1");
        assert_eq!(e.postback.campaign_id.as_deref(), Some("1001"));
        assert_eq!(e.time, "2026-09-21T14:13:20.123Z");
        assert_eq!(e.id, "001790000000123-00000007");
        let json = serde_json::to_string(&e).unwrap();
        assert!(!json.contains("s3cr3t"));
        // The entry reads back whole, its draft's fields beside its own.
        let back: LogEntry = serde_json::from_str(&json).unwrap();
        assert_eq!(back, e);
        let fields: serde_json::Value = serde_json::from_str(&json).unwrap();
        for name in ["id", "campaign_id", "click_id", "code", "params", "dry_run"] {
            assert!(fields.get(name).is_some(), "{name}: {json}");
        }
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
        assert_eq!(e.postback.status.as_deref(), Some("approved"));
        assert_eq!(e.count_key(), "accepted");
        let checked = LogDraft::from_postback(
            Postback::from_params(Params::from_query("click_id=abc").unwrap()).unwrap(),
            true,
        )
        .decided(&verdict, 1, 1);
        assert_eq!(checked.result, "accepted", "a dry run says its result");
        assert_eq!(checked.count_key(), DRY_RUN, "and counts apart");
        let rejected = draft("click_id=abc").decided(
            &Verdict::Rejected {
                code: "cap_reached".into(),
                detail: None,
            },
            1,
            1,
        );
        assert_eq!(
            rejected.clone().with_texts().message.as_deref(),
            Some("Campaign cap is reached, conversion is rejected")
        );
        assert_eq!(rejected.detail, None);
        // A failure the sender may retry says so in the log as in its answer.
        let failed = draft("click_id=abc").decided(
            &Verdict::Rejected {
                code: "internal_error".into(),
                detail: None,
            },
            1,
            1,
        );
        assert_eq!(failed.detail, Some(serde_json::json!({"retry": true})));
    }

    #[test]
    fn an_entry_written_before_its_draft_was_split_out_reads_the_same() {
        // An entry as earlier versions stored it, every field at the top.
        let old = r#"{"id":"001790000000123-00000007","time":"2026-09-21T14:13:20.123Z",
            "campaign_id":"1001","click_id":"c","goal":"1","status":"pending","result":"accepted",
            "code":null,"message":null,"reason":null,"fix":null,"conversion_id":"cv_1",
            "dry_run":false,"params":{"click_id":"c"}}"#;
        let e: LogEntry = serde_json::from_str(old).unwrap();
        assert_eq!(e.postback.campaign_id.as_deref(), Some("1001"));
        assert_eq!(e.postback.partner_id, None);
        assert_eq!(e.conversion_id.as_deref(), Some("cv_1"));
        assert_eq!(e.campaign(), "1001");
    }
}
