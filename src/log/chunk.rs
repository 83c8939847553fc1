//! Log entries in chunks: a batch of entries stored together as one JSON
//! array, and what a store keeps beside it ([`ChunkMeta`]) so that a query
//! finds, counts and skips it without reading it.

use super::entry::{newest_first, LogEntry};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Entries per count key (a code, `accepted` or `dry_run`).
pub type Counts = BTreeMap<String, u64>;

/// What a store keeps beside a chunk's entries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkMeta {
    /// The smallest and largest entry id in it.
    pub first: String,
    pub last: String,
    pub count: u32,
    pub tally: Tally,
}

/// A chunk's entries counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tally {
    /// Per campaign (`""` for entries that name none), per count key:
    /// every chunk written today.
    Campaigns(BTreeMap<String, Counts>),
    /// For the chunk as a whole: what an earlier version kept of the
    /// chunks it wrote for all campaigns together.
    Total(Counts),
}

impl ChunkMeta {
    /// The meta of a chunk holding `entries` (in any order).
    pub fn of<'a>(entries: impl IntoIterator<Item = &'a LogEntry>) -> ChunkMeta {
        let mut meta = ChunkMeta {
            first: String::new(),
            last: String::new(),
            count: 0,
            tally: Tally::Campaigns(BTreeMap::new()),
        };
        for entry in entries {
            meta.add(entry);
        }
        meta
    }

    fn add(&mut self, entry: &LogEntry) {
        if self.count == 0 || entry.id < self.first {
            self.first.clone_from(&entry.id);
        }
        if self.count == 0 || entry.id > self.last {
            self.last.clone_from(&entry.id);
        }
        self.count += 1;
        if let Tally::Campaigns(campaigns) = &mut self.tally {
            let counts = campaigns.entry(entry.campaign().to_owned()).or_default();
            *counts.entry(entry.count_key().to_owned()).or_default() += 1;
        }
    }

    /// The chunk's counts for `campaigns` (all of them for `None`), or
    /// `None` when its meta cannot say (a total of several campaigns).
    pub fn counts_for(
        &self,
        campaigns: Option<&std::collections::BTreeSet<String>>,
    ) -> Option<Counts> {
        match (&self.tally, campaigns) {
            (Tally::Total(counts), None) => Some(counts.clone()),
            (Tally::Total(_), Some(_)) => None,
            (Tally::Campaigns(by_campaign), wanted) => {
                let mut sum = Counts::new();
                for (campaign, counts) in by_campaign {
                    if wanted.is_none_or(|w| w.contains(campaign)) {
                        for (key, n) in counts {
                            *sum.entry(key.clone()).or_default() += n;
                        }
                    }
                }
                Some(sum)
            }
        }
    }
}

/// A chunk being written: its entries serialized as they come, and its
/// meta kept alongside.
#[derive(Debug)]
pub struct ChunkWriter {
    /// The JSON array so far (without its closing bracket).
    body: Vec<u8>,
    meta: ChunkMeta,
}

impl Default for ChunkWriter {
    fn default() -> ChunkWriter {
        ChunkWriter {
            body: Vec::new(),
            meta: ChunkMeta::of([]),
        }
    }
}

impl ChunkWriter {
    /// Adds an entry, serialized now.
    pub fn push(&mut self, entry: &LogEntry) {
        let start = self.body.len();
        self.body
            .push(if self.meta.count == 0 { b'[' } else { b',' });
        // Serializing strings, numbers and maps into memory cannot fail;
        // if it ever did, the chunk would stay valid without the entry.
        if serde_json::to_writer(&mut self.body, entry).is_err() {
            self.body.truncate(start);
            return;
        }
        self.meta.add(entry);
    }

    /// Adds an entry already serialized (`json`, the entry's JSON).
    pub fn push_serialized(&mut self, entry: &LogEntry, json: &str) {
        self.body
            .push(if self.meta.count == 0 { b'[' } else { b',' });
        self.body.extend_from_slice(json.as_bytes());
        self.meta.add(entry);
    }

    /// The bytes written so far.
    pub fn len(&self) -> usize {
        self.body.len()
    }

    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }

    pub fn meta(&self) -> &ChunkMeta {
        &self.meta
    }

    /// What the store keeps: the meta, and the entries as one JSON array.
    pub fn finish(mut self) -> (ChunkMeta, String) {
        if self.meta.count == 0 {
            self.body.push(b'[');
        }
        self.body.push(b']');
        // serde_json writes UTF-8 only: the check never fails.
        let body = String::from_utf8(self.body).unwrap_or_else(|_| "[]".to_owned());
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

/// A chunk without its `drop` oldest entries (by id): what a bounded
/// store keeps of its oldest chunk when the bound falls inside it. `None`
/// when nothing is left.
pub fn without_oldest(mut chunk: Vec<LogEntry>, drop: usize) -> Option<(ChunkMeta, String)> {
    newest_first(&mut chunk);
    let keep = chunk.len().checked_sub(drop).filter(|&keep| keep > 0)?;
    Some(chunk_of(&chunk[..keep]))
}

/// A stored chunk's entries.
pub fn entries(body: &str) -> serde_json::Result<Vec<LogEntry>> {
    serde_json::from_str(body)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::log::LogDraft;
    use std::collections::BTreeSet;

    /// An entry with this id, campaign and code (`None`: accepted).
    pub(crate) fn entry(id: &str, campaign: Option<&str>, code: Option<&str>) -> LogEntry {
        let mut draft = LogDraft {
            click_id: Some("c\"lick\n".to_owned()),
            ..LogDraft::default()
        };
        draft.campaign_id = campaign.map(str::to_owned);
        LogEntry {
            id: id.to_owned(),
            time: "2026-12-01T00:00:00.000Z".to_owned(),
            postback: draft,
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
            detail: None,
        }
    }

    #[test]
    fn a_chunk_reads_back_as_its_entries_with_their_range_and_counts() {
        let written = vec![
            entry("2", Some("1001"), Some("goal_not_found")),
            entry("1", Some("1001"), None),
            entry("3", Some("1002"), Some("goal_not_found")),
            entry("4", None, Some("click_not_found")),
        ];
        let (meta, body) = chunk_of(&written);
        assert_eq!(entries(&body).unwrap(), written);
        assert_eq!((meta.first.as_str(), meta.last.as_str()), ("1", "4"));
        assert_eq!(meta.count, 4);
        let counts = |keys: &[(&str, u64)]| -> Counts {
            keys.iter().map(|(k, n)| (k.to_string(), *n)).collect()
        };
        assert_eq!(
            meta.counts_for(None),
            Some(counts(&[
                ("accepted", 1),
                ("click_not_found", 1),
                ("goal_not_found", 2)
            ]))
        );
        let one: BTreeSet<String> = ["1001".to_owned()].into();
        assert_eq!(
            meta.counts_for(Some(&one)),
            Some(counts(&[("accepted", 1), ("goal_not_found", 1)]))
        );
        let none: BTreeSet<String> = ["".to_owned()].into();
        assert_eq!(
            meta.counts_for(Some(&none)),
            Some(counts(&[("click_not_found", 1)]))
        );
        let other: BTreeSet<String> = ["9".to_owned()].into();
        assert_eq!(meta.counts_for(Some(&other)), Some(Counts::new()));
        // A total says nothing of one campaign.
        let total = ChunkMeta {
            tally: Tally::Total(counts(&[("accepted", 1)])),
            ..meta.clone()
        };
        assert_eq!(total.counts_for(Some(&one)), None);
        assert_eq!(total.counts_for(None), Some(counts(&[("accepted", 1)])));
        // The meta crosses to a store and back whole.
        for meta in [meta, total] {
            let wire = serde_json::to_string(&meta).unwrap();
            assert_eq!(serde_json::from_str::<ChunkMeta>(&wire).unwrap(), meta);
        }
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
        assert_eq!((meta.first.as_str(), meta.last.as_str()), ("3", "3"));
        assert_eq!(entries(&body).unwrap(), vec![chunk[0].clone()]);
        assert_eq!(without_oldest(chunk, 3), None);
    }

    #[test]
    fn an_empty_chunk_is_an_empty_array() {
        let (meta, body) = ChunkWriter::default().finish();
        assert_eq!((meta.count, body.as_str()), (0, "[]"));
        assert_eq!(entries(&body).unwrap(), vec![]);
    }
}
