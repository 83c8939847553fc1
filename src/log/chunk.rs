//! Log entries in chunks: how a store keeps them, and how it reads them.
//!
//! A chunk is a JSON array of entries, written once where the entries are
//! made (the edge batches what it refuses; the campaign object writes what
//! it decides) and stored as it came, beside what a query needs to find it
//! without reading it: its id range, its campaign and its counts per code.
//! Storing a row per entry made SQLite parse each entry's JSON again and
//! insert it into three B-trees, several microseconds for every postback;
//! a chunk is one insert for a whole batch, and only the chunks a query
//! reaches are parsed.
//!
//! Chunks from different isolates can overlap in time (each batches for
//! up to a second), so a query reads them newest first by their newest entry and
//! stops only when no chunk left can hold an entry newer than the page's
//! oldest ([`PageBuilder::wants`]).

use super::{count_key, LogEntry, LogQuery};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What a store keeps beside a chunk's entries; it crosses to the store
/// as JSON beside them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ChunkMeta {
    /// The smallest and largest entry id in it.
    pub first_id: String,
    pub last_id: String,
    /// The campaign every entry names; `None` when they differ or one
    /// names none (only the unattributed store has such chunks).
    pub campaign: Option<String>,
    pub count: u32,
    /// Entries per count key (the code, or `accepted`), as the JSON object
    /// the store keeps.
    pub codes: String,
}

/// A chunk being written: entries serialized as they come.
#[derive(Debug, Default)]
pub struct ChunkWriter {
    /// The JSON array so far (without its closing bracket).
    body: Vec<u8>,
    meta: ChunkMeta,
    /// Entries per count key: a handful of codes, searched in a list.
    codes: Vec<(String, u32)>,
}

impl ChunkWriter {
    /// Adds an entry, serialized now: the chunk holds text, not entries.
    pub fn push(&mut self, entry: &LogEntry) {
        self.body
            .push(if self.meta.count == 0 { b'[' } else { b',' });
        // Serializing strings, numbers and maps into memory cannot fail;
        // if it ever did, the array would stay valid without the entry.
        let start = self.body.len();
        if serde_json::to_writer(&mut self.body, entry).is_err() {
            self.body.truncate(start);
            if self.meta.count == 0 {
                self.body.clear();
            } else {
                self.body.pop();
            }
            return;
        }
        self.count(entry);
    }

    /// Adds an entry already serialized (`json`, the entry's JSON): one
    /// serialization for every chunk that holds it.
    pub fn push_serialized(&mut self, entry: &LogEntry, json: &str) {
        self.body
            .push(if self.meta.count == 0 { b'[' } else { b',' });
        self.body.extend_from_slice(json.as_bytes());
        self.count(entry);
    }

    fn count(&mut self, entry: &LogEntry) {
        let meta = &mut self.meta;
        if meta.count == 0 {
            meta.first_id.clone_from(&entry.id);
            meta.last_id.clone_from(&entry.id);
            meta.campaign.clone_from(&entry.campaign_id);
        } else {
            if entry.id < meta.first_id {
                meta.first_id.clone_from(&entry.id);
            }
            if entry.id > meta.last_id {
                meta.last_id.clone_from(&entry.id);
            }
            if meta.campaign != entry.campaign_id {
                meta.campaign = None;
            }
        }
        meta.count += 1;
        let key = count_key(entry);
        match self.codes.iter_mut().find(|(code, _)| code == key) {
            Some((_, n)) => *n += 1,
            None => self.codes.push((key.to_owned(), 1)),
        }
    }

    /// What the store keeps: the meta, and the entries as one JSON array.
    pub fn finish(mut self) -> (ChunkMeta, String) {
        if self.meta.count == 0 {
            self.body.push(b'[');
        }
        self.body.push(b']');
        // serde_json writes UTF-8 only: the check never fails.
        let body = String::from_utf8(self.body).unwrap_or_else(|_| "[]".to_owned());
        self.codes.sort_unstable();
        let mut codes = String::from("{");
        for (i, (code, n)) in self.codes.iter().enumerate() {
            if i > 0 {
                codes.push(',');
            }
            // A string: serializing it cannot fail.
            codes.push_str(&serde_json::to_string(code).unwrap_or_default());
            codes.push(':');
            codes.push_str(&n.to_string());
        }
        codes.push('}');
        self.meta.codes = codes;
        (self.meta, body)
    }
}

/// A chunk of the given entries.
pub fn chunk_of<'a>(entries: impl IntoIterator<Item = &'a LogEntry>) -> (ChunkMeta, String) {
    let mut writer = ChunkWriter::default();
    for entry in entries {
        writer.push(entry);
    }
    writer.finish()
}

/// A stored chunk's entries.
pub fn entries(body: &str) -> serde_json::Result<Vec<LogEntry>> {
    serde_json::from_str(body)
}

/// Whether `entry` is one `query` asks for.
fn matches(query: &LogQuery, entry: &LogEntry) -> bool {
    in_scope(query, entry)
        && query
            .code
            .as_deref()
            .is_none_or(|code| count_key(entry) == code)
        && before_bound(query, entry)
}

/// Whether `entry` is in the query's campaign, time and field filters
/// (what the counts are taken over: every code, so the page can offer each
/// as a filter).
fn in_scope(query: &LogQuery, entry: &LogEntry) -> bool {
    let field = |wanted: &Option<String>, has: &Option<String>| {
        wanted.as_deref().is_none_or(|w| has.as_deref() == Some(w))
    };
    field(&query.campaign_id, &entry.campaign_id)
        && field(&query.click_id, &entry.click_id)
        && field(&query.action_id, &entry.action_id)
        && field(&query.conversion_id, &entry.conversion_id)
        && field(&query.partner_id, &entry.partner_id)
        && query
            .since_id
            .as_deref()
            .is_none_or(|since| entry.id.as_str() >= since)
}

/// Whether `entry` is before the query's upper bound, what the counts
/// cover too.
fn before_bound(query: &LogQuery, entry: &LogEntry) -> bool {
    query
        .before
        .as_deref()
        .is_none_or(|before| entry.id.as_str() < before)
}

/// The newest entries matching a query, from chunks read newest first.
pub struct PageBuilder<'q> {
    query: &'q LogQuery,
    /// Newest first, at most `limit`.
    entries: Vec<LogEntry>,
}

impl<'q> PageBuilder<'q> {
    pub fn new(query: &'q LogQuery) -> PageBuilder<'q> {
        PageBuilder {
            query,
            entries: Vec::new(),
        }
    }

    /// Whether a chunk whose newest entry is `last_id` can still change
    /// the page. Chunks come in descending `last_id`: once the page is
    /// full and its oldest entry is newer than this chunk's newest, no
    /// chunk after it can hold an entry for the page either.
    pub fn wants(&self, last_id: &str) -> bool {
        match self.entries.get(self.limit().saturating_sub(1)) {
            Some(oldest) if self.entries.len() >= self.limit() => last_id > oldest.id.as_str(),
            _ => true,
        }
    }

    /// Takes what a chunk has for the page.
    pub fn add(&mut self, chunk: Vec<LogEntry>) {
        let before = self.entries.len();
        self.entries
            .extend(chunk.into_iter().filter(|e| matches(self.query, e)));
        if self.entries.len() == before {
            return;
        }
        super::newest_first(&mut self.entries);
        self.entries.truncate(self.limit());
    }

    fn limit(&self) -> usize {
        self.query.limit as usize
    }

    pub fn finish(self) -> Vec<LogEntry> {
        self.entries
    }
}

/// Adds to `counts` the entries of a chunk in the query's campaign and
/// time, per count key: for the chunks a store cannot count from their
/// meta (one that straddles `since`, or one of mixed campaigns).
pub fn count_into(
    counts: &mut BTreeMap<String, u64>,
    hours: &mut super::Hours,
    query: &LogQuery,
    chunk: &[LogEntry],
) {
    for entry in chunk
        .iter()
        .filter(|e| in_scope(query, e) && before_bound(query, e))
    {
        let key = count_key(entry);
        *counts.entry(key.to_owned()).or_default() += 1;
        super::tally_hour(hours, super::bucket::id_millis(&entry.id), key, 1);
    }
}

/// Adds a chunk's counts from its meta, at its newest entry's hour (a
/// chunk spans a second or so).
pub fn add_meta(counts: &mut BTreeMap<String, u64>, hours: &mut super::Hours, meta: &ChunkMeta) {
    if let Ok(codes) = serde_json::from_str::<BTreeMap<String, u64>>(&meta.codes) {
        let at = super::bucket::id_millis(&meta.last_id);
        for (code, n) in codes {
            super::tally_hour(hours, at, &code, n);
            *counts.entry(code).or_default() += n;
        }
    }
}

/// A chunk without its `drop` oldest entries (by id): what a bounded store
/// keeps of its oldest chunk when the bound falls inside it. `None` when
/// nothing is left.
pub fn without_oldest(mut chunk: Vec<LogEntry>, drop: usize) -> Option<(ChunkMeta, String)> {
    super::newest_first(&mut chunk);
    let keep = chunk.len().checked_sub(drop).filter(|&keep| keep > 0)?;
    Some(chunk_of(&chunk[..keep]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, campaign: Option<&str>, code: Option<&str>) -> LogEntry {
        LogEntry {
            id: id.to_owned(),
            time: "2026-12-01T00:00:00.000Z".to_owned(),
            campaign_id: campaign.map(str::to_owned),
            click_id: Some("c\"lick\n".to_owned()),
            goal: None,
            status: None,
            result: if code.is_some() {
                "rejected"
            } else {
                "accepted"
            }
            .to_owned(),
            code: code.map(str::to_owned),
            message: None,
            reason: None,
            fix: None,
            conversion_id: None,
            partner_id: None,
            country: None,
            action_id: None,
            payout: None,
            source_ip: None,
            detail: None,
            dry_run: false,
            params: BTreeMap::from([("x".to_owned(), "1".to_owned())]),
        }
    }

    fn query(limit: u32) -> LogQuery {
        LogQuery {
            limit,
            ..LogQuery::default()
        }
    }

    #[test]
    fn a_chunk_reads_back_as_its_entries_with_their_range_and_counts() {
        let written = vec![
            entry("2", Some("1001"), Some("goal_not_found")),
            entry("1", Some("1001"), None),
            entry("3", Some("1001"), Some("goal_not_found")),
        ];
        let (meta, body) = chunk_of(&written);
        assert_eq!(entries(&body).unwrap(), written);
        assert_eq!((meta.first_id.as_str(), meta.last_id.as_str()), ("1", "3"));
        assert_eq!(meta.campaign.as_deref(), Some("1001"));
        assert_eq!(meta.count, 3);
        assert_eq!(meta.codes, r#"{"accepted":1,"goal_not_found":2}"#);
    }

    #[test]
    fn an_entry_serialized_once_reads_back_from_every_chunk() {
        let e = entry("001-a", Some("1001"), Some("cap_reached"));
        let json = serde_json::to_string(&e).unwrap();
        let mut once = ChunkWriter::default();
        once.push_serialized(&e, &json);
        once.push_serialized(&e, &json);
        let mut each = ChunkWriter::default();
        each.push(&e);
        each.push(&e);
        assert_eq!(once.finish(), each.finish());
    }

    #[test]
    fn the_meta_crosses_to_the_object_whole() {
        let (meta, _) = chunk_of(&[
            entry("001-a", Some("summer & co"), Some("goal_not_found")),
            entry("002-b", Some("summer & co"), None),
        ]);
        let (mixed, _) = chunk_of(&[entry("1", Some("a"), None), entry("2", None, None)]);
        for meta in [meta, mixed] {
            let wire = serde_json::to_string(&meta).unwrap();
            assert_eq!(serde_json::from_str::<ChunkMeta>(&wire).unwrap(), meta);
        }
        for broken in [
            r#"{"first_id":"1"}"#,
            r#"{"first_id":"1","last_id":"2","campaign":null,"count":"x","codes":"{}"}"#,
        ] {
            assert!(
                serde_json::from_str::<ChunkMeta>(broken).is_err(),
                "{broken}"
            );
        }
    }

    #[test]
    fn a_chunk_of_several_campaigns_or_none_names_no_campaign() {
        let (meta, _) = chunk_of(&[entry("1", Some("a"), None), entry("2", Some("b"), None)]);
        assert_eq!(meta.campaign, None);
        let (meta, _) = chunk_of(&[entry("1", None, None), entry("2", Some("a"), None)]);
        assert_eq!(meta.campaign, None);
        let (meta, _) = chunk_of(&[entry("1", Some("a"), None), entry("2", None, None)]);
        assert_eq!(meta.campaign, None);
    }

    #[test]
    fn an_empty_chunk_is_an_empty_array() {
        let (meta, body) = ChunkWriter::default().finish();
        assert_eq!(
            (meta.count, body.as_str(), meta.codes.as_str()),
            (0, "[]", "{}")
        );
        assert_eq!(entries(&body).unwrap(), vec![]);
    }

    #[test]
    fn overlapping_chunks_give_the_newest_entries_in_order() {
        // Two isolates' batches over the same second, read newest first by
        // their newest entry.
        let newer = vec![
            entry("05", None, None),
            entry("09", None, None),
            entry("07", None, None),
        ];
        let older = vec![
            entry("08", None, None),
            entry("06", None, None),
            entry("01", None, None),
        ];
        let oldest = vec![entry("00", None, None)];
        let q = query(3);
        let mut page = PageBuilder::new(&q);
        assert!(page.wants("09"));
        page.add(newer);
        assert!(page.wants("08"), "08 is newer than the page's oldest, 05");
        page.add(older);
        let ids: Vec<String> = page.finish().into_iter().map(|e| e.id).collect();
        assert_eq!(ids, ["09", "08", "07"]);

        let mut page = PageBuilder::new(&q);
        page.add(vec![
            entry("09", None, None),
            entry("08", None, None),
            entry("07", None, None),
        ]);
        assert!(
            !page.wants("06"),
            "a full page stops at chunks older than its oldest"
        );
        page.add(oldest);
        assert_eq!(page.finish().len(), 3);
    }

    #[test]
    fn pages_filter_by_code_campaign_since_and_before() {
        let chunk = || {
            vec![
                entry("1", Some("a"), Some("goal_not_found")),
                entry("2", Some("b"), Some("goal_not_found")),
                entry("3", Some("a"), None),
                entry("4", Some("a"), Some("cap_reached")),
            ]
        };
        #[track_caller]
        fn check(q: LogQuery, chunk: Vec<LogEntry>, expected: &[&str]) {
            let mut page = PageBuilder::new(&q);
            page.add(chunk);
            let ids: Vec<String> = page.finish().into_iter().map(|e| e.id).collect();
            assert_eq!(ids, expected);
        }
        let with = |f: fn(&mut LogQuery)| {
            let mut q = query(10);
            f(&mut q);
            q
        };
        check(
            with(|q| q.code = Some("goal_not_found".into())),
            chunk(),
            &["2", "1"],
        );
        check(with(|q| q.code = Some("accepted".into())), chunk(), &["3"]);
        check(
            with(|q| q.campaign_id = Some("a".into())),
            chunk(),
            &["4", "3", "1"],
        );
        check(
            with(|q| q.since_id = Some("3".into())),
            chunk(),
            &["4", "3"],
        );
        check(with(|q| q.before = Some("3".into())), chunk(), &["2", "1"]);
        check(query(2), chunk(), &["4", "3"]);
    }

    #[test]
    fn counts_from_entries_take_campaign_and_since_but_every_code() {
        let chunk = vec![
            entry("1", Some("a"), Some("goal_not_found")),
            entry("2", Some("b"), Some("goal_not_found")),
            entry("3", Some("a"), None),
        ];
        let mut q = query(10);
        q.campaign_id = Some("a".into());
        q.since_id = Some("2".into());
        q.code = Some("goal_not_found".into());
        let mut counts = BTreeMap::from([("accepted".to_owned(), 5)]);
        let mut hours = crate::log::Hours::new();
        count_into(&mut counts, &mut hours, &q, &chunk);
        assert_eq!(counts, BTreeMap::from([("accepted".to_owned(), 6)]));
        assert_eq!(hours.values().map(|[a, r]| a + r).sum::<u64>(), 1);
    }

    #[test]
    fn a_bounded_store_drops_the_oldest_entries_of_a_chunk() {
        let chunk = vec![
            entry("3", Some("a"), Some("click_not_found")),
            entry("1", Some("a"), Some("bad_request")),
            entry("2", Some("b"), Some("bad_request")),
        ];
        let (meta, body) = without_oldest(chunk.clone(), 2).unwrap();
        assert_eq!(meta.count, 1);
        assert_eq!((meta.first_id.as_str(), meta.last_id.as_str()), ("3", "3"));
        assert_eq!(meta.campaign.as_deref(), Some("a"));
        assert_eq!(entries(&body).unwrap(), vec![chunk[0].clone()]);
        assert_eq!(without_oldest(chunk, 3), None);
    }
}
