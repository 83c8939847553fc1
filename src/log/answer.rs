//! What a store answers a log query ([`LogPage`]), how the answers of
//! several stores become one ([`merge`]), and what the JSON API sends
//! ([`LogAnswer`]).

use super::chunk::Counts;
use super::entry::{newest_first, LogEntry, DRY_RUN};
use super::id::bound;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Postbacks per hour (keyed by the hour's first millisecond, UTC) by
/// result: `[accepted, rejected]`; dry runs are not traffic, and not drawn.
pub type Hours = BTreeMap<u64, [u64; 2]>;

pub const HOUR_MS: u64 = 3_600_000;

/// Adds `n` postbacks counted under `key` at `ms` to `hours`.
pub fn tally_hour(hours: &mut Hours, ms: u64, key: &str, n: u64) {
    if key == DRY_RUN {
        return;
    }
    let bar = hours.entry(ms - ms % HOUR_MS).or_default();
    bar[usize::from(key != "accepted")] += n;
}

/// One store's answer to a query: its newest matching entries, and its
/// counts per code over the query's campaigns, fields and time (not its
/// code, so the page can show the spread and offer each code as a filter).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LogPage {
    pub entries: Vec<LogEntry>,
    /// Per code; accepted postbacks count under `accepted`.
    pub counts: Counts,
    /// The same postbacks per hour, for the page's chart.
    #[serde(default)]
    pub hours: Hours,
    /// When the store stopped short of the query's range (it reads a
    /// bounded number of chunks): the oldest time it covers, in
    /// milliseconds. Its entries and counts are those from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cut: Option<u64>,
}

impl LogPage {
    /// Where the next page starts: after a full page, its oldest entry;
    /// after a store stopped short, where it stopped.
    pub fn next_before(&self, limit: u32) -> Option<String> {
        if self.entries.len() >= limit as usize {
            return self.entries.last().map(|e| e.id.clone());
        }
        self.cut.map(bound)
    }
}

/// The JSON API's answer to a log query. Serialized straight to text: an
/// entry never goes through `serde_json::Value`.
#[derive(Serialize)]
pub struct LogAnswer<'a> {
    pub entries: &'a [LogEntry],
    pub counts: &'a Counts,
    pub next_before: Option<&'a str>,
    /// The oldest time the counts reach, when a long range was cut short.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counted_since: Option<String>,
}

/// The answers of several stores as one: newest first, at most `limit`,
/// counts added up. Where a store stopped short, the answer stops there
/// too: an entry older than its cut could hide one the store did not read.
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
        merged.cut = merged.cut.max(page.cut);
    }
    newest_first(&mut merged.entries);
    if let Some(cut) = merged.cut {
        let from = bound(cut);
        merged.entries.retain(|e| e.id >= from);
    }
    merged.entries.truncate(limit as usize);
    merged.entries = merged
        .entries
        .into_iter()
        .map(LogEntry::with_texts)
        .collect();
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Rejection;
    use crate::log::chunk::tests::entry;
    use crate::log::id::entry_id;

    #[test]
    fn hours_tally_by_result_at_the_start_of_their_hour() {
        let mut hours = Hours::new();
        tally_hour(&mut hours, 2 * HOUR_MS + 59_999, "accepted", 2);
        tally_hour(&mut hours, 2 * HOUR_MS, "cap_reached", 1);
        tally_hour(&mut hours, 3 * HOUR_MS, "bad_request", 4);
        tally_hour(&mut hours, 3 * HOUR_MS, DRY_RUN, 4);
        assert_eq!(hours, [(2 * HOUR_MS, [2, 1]), (3 * HOUR_MS, [0, 4])].into());
    }

    #[test]
    fn merge_is_newest_first_adds_counts_and_stops_at_a_cut() {
        let at = |ms| entry(&entry_id(ms, 0), Some("a"), Some("cap_reached"));
        let a = LogPage {
            entries: vec![at(5), at(1)],
            counts: [("cap_reached".into(), 2)].into(),
            hours: [(0, [0, 2])].into(),
            cut: None,
        };
        let b = LogPage {
            entries: vec![at(4), at(3)],
            counts: [("cap_reached".into(), 2), ("accepted".into(), 9)].into(),
            hours: [(0, [9, 2]), (HOUR_MS, [0, 0])].into(),
            cut: None,
        };
        let merged = merge(vec![a.clone(), b.clone()], 3);
        let ids: Vec<_> = merged.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, [entry_id(5, 0), entry_id(4, 0), entry_id(3, 0)]);
        assert_eq!(merged.counts["cap_reached"], 4);
        assert_eq!(merged.counts["accepted"], 9);
        assert_eq!(merged.hours, [(0, [9, 4]), (HOUR_MS, [0, 0])].into());
        assert_eq!(merged.next_before(3), Some(entry_id(3, 0)));
        // What is read carries the catalog's texts.
        assert!(merged
            .entries
            .iter()
            .all(|e| e.message.as_deref() == Some(Rejection::CapReached.message())));
        // A store that stopped at 4 ms: nothing older is shown, and the next
        // page starts there.
        let cut = LogPage { cut: Some(4), ..b };
        let merged = merge(vec![a, cut], 10);
        let ids: Vec<_> = merged.entries.iter().map(|e| e.id.clone()).collect();
        assert_eq!(ids, [entry_id(5, 0), entry_id(4, 0)]);
        assert_eq!(merged.next_before(10), Some(bound(4)));
        assert_eq!(LogPage::default().next_before(10), None);
    }
}
