//! What the queue's consumer does with the batches of every isolate: their
//! entries cut into chunks for the store. Per shard (`log::layout`),
//! entries in id order, a chunk is closed when the next entry would make
//! it span more than [`MAX_SPAN_MS`], hold more than [`MAX_CHUNK_BYTES`],
//! or need a meta larger than [`MAX_META_BYTES`]: so a window of a small
//! network's long tail of campaigns costs a few writes, not one per
//! campaign, and a hot campaign's window a few chunks of bounded size.

use super::chunk::{ChunkMeta, ChunkWriter};
use super::entry::LogEntry;
use super::id::id_millis;
use super::layout::{key, shard_of, MAX_SPAN_MS};
use std::collections::{BTreeMap, HashSet};

/// Bytes of entries a chunk holds at most: a page reads whole chunks.
pub const MAX_CHUNK_BYTES: usize = 1 << 20;
/// Bytes a chunk's meta takes at most, as JSON: the Workers binding of
/// R2 refuses an object whose custom metadata (names and values together)
/// exceeds 2,048 bytes, and the meta is stored under a four-byte name.
pub const MAX_META_BYTES: usize = 2_000;

/// A chunk for the bucket: where it goes, what it says, what it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketChunk {
    pub key: String,
    pub meta: ChunkMeta,
    pub body: String,
    /// The ids of its entries.
    pub ids: Vec<String>,
}

/// The bucket's chunks of `entries` (attributed ones: their campaigns
/// exist), in any order.
pub fn bucket_chunks(entries: Vec<LogEntry>) -> Vec<BucketChunk> {
    let mut by_shard: BTreeMap<u32, Vec<LogEntry>> = BTreeMap::new();
    for entry in entries {
        by_shard
            .entry(shard_of(entry.campaign()))
            .or_default()
            .push(entry);
    }
    let mut chunks = Vec::new();
    for (shard, entries) in by_shard {
        for (ids, writer) in cut(entries) {
            let (meta, body) = writer.finish();
            let key = key(shard, &meta, ids.iter().map(String::as_str));
            chunks.push(BucketChunk {
                key,
                meta,
                body,
                ids,
            });
        }
    }
    chunks
}

/// The unattributed log's chunks of `entries`, in any order.
pub fn unattributed_chunks(entries: Vec<LogEntry>) -> Vec<(ChunkMeta, String)> {
    cut(entries).into_iter().map(|(_, w)| w.finish()).collect()
}

/// Entries in id order, cut into chunks (with their ids).
fn cut(mut entries: Vec<LogEntry>) -> Vec<(Vec<String>, ChunkWriter)> {
    entries.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut chunks = Vec::new();
    let mut current = Open::default();
    for entry in entries {
        // Strings, numbers and maps serialize without fail.
        let Ok(json) = serde_json::to_string(&entry) else {
            continue;
        };
        if !current.fits(&entry, json.len()) {
            chunks.push(std::mem::take(&mut current).close());
        }
        current.push(&entry, &json);
    }
    if !current.writer.is_empty() {
        chunks.push(current.close());
    }
    chunks
}

/// A chunk being filled, and what closes it.
#[derive(Default)]
struct Open {
    writer: ChunkWriter,
    ids: Vec<String>,
    first_ms: u64,
    /// The campaigns and (campaign, key) pairs its meta names, and an
    /// upper bound of the meta's size as JSON.
    campaigns: HashSet<String>,
    pairs: HashSet<(String, String)>,
    meta_bytes: usize,
}

/// What a meta takes beside its campaigns: ids, count, field names.
const META_BASE_BYTES: usize = 120;

impl Open {
    fn fits(&self, entry: &LogEntry, bytes: usize) -> bool {
        if self.writer.is_empty() {
            return true;
        }
        id_millis(&entry.id).saturating_sub(self.first_ms) <= MAX_SPAN_MS
            && self.writer.len() + bytes + 2 <= MAX_CHUNK_BYTES
            && self.meta_bytes + self.meta_growth(entry) <= MAX_META_BYTES
    }

    /// What adding `entry` adds to the meta, at most: its campaign's
    /// name (quoted, escaped) if new, its key and a count of up to seven
    /// digits if new for that campaign.
    fn meta_growth(&self, entry: &LogEntry) -> usize {
        let campaign = entry.campaign();
        let mut growth = 0;
        if !self.campaigns.contains(campaign) {
            growth += json_len(campaign) + 4;
        }
        if !self
            .pairs
            .contains(&(campaign.to_owned(), entry.count_key().to_owned()))
        {
            growth += json_len(entry.count_key()) + 9;
        }
        growth
    }

    fn push(&mut self, entry: &LogEntry, json: &str) {
        if self.writer.is_empty() {
            self.first_ms = id_millis(&entry.id);
            self.meta_bytes = META_BASE_BYTES + 2 * entry.id.len();
        }
        self.meta_bytes += self.meta_growth(entry);
        self.campaigns.insert(entry.campaign().to_owned());
        self.pairs
            .insert((entry.campaign().to_owned(), entry.count_key().to_owned()));
        self.ids.push(entry.id.clone());
        self.writer.push_serialized(entry, json);
    }

    fn close(self) -> (Vec<String>, ChunkWriter) {
        (self.ids, self.writer)
    }
}

fn json_len(text: &str) -> usize {
    serde_json::to_string(text).map_or(text.len() * 6 + 2, |s| s.len())
}

/// Entries that a store already holds (`stored`: their ids) taken out:
/// what a redelivered batch adds.
pub fn not_stored(entries: Vec<LogEntry>, stored: &HashSet<String>) -> Vec<LogEntry> {
    entries
        .into_iter()
        .filter(|e| !stored.contains(&e.id))
        .collect()
}

/// The times (milliseconds) of the oldest and newest of `entries`.
pub fn time_range(entries: &[LogEntry]) -> Option<(u64, u64)> {
    let mut times = entries.iter().map(|e| id_millis(&e.id));
    let first = times.next()?;
    Some(times.fold((first, first), |(lo, hi), t| (lo.min(t), hi.max(t))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::chunk::entries as parse;
    use crate::log::chunk::tests::entry;
    use crate::log::id::entry_id;
    use crate::log::layout::{key_millis, metadata, SHARDS};

    const T0: u64 = 1_790_000_000_000;

    #[test]
    fn a_window_of_five_hundred_campaigns_is_a_few_chunks_per_shard() {
        let entries: Vec<LogEntry> = (0..1000u64)
            .map(|i| {
                entry(
                    &entry_id(T0 + i * 5, i as u32),
                    Some(&format!("{}", 1000 + i % 500)),
                    None,
                )
            })
            .collect();
        let chunks = bucket_chunks(entries.clone());
        // 125 campaigns a shard, each twice, in time order: a meta names
        // about 60 campaigns, so four chunks a shard.
        assert_eq!(
            chunks.len(),
            4 * SHARDS as usize,
            "{:?}",
            chunks.iter().map(|c| &c.key).collect::<Vec<_>>()
        );
        let mut back: Vec<LogEntry> = chunks
            .iter()
            .flat_map(|c| parse(&c.body).unwrap())
            .collect();
        back.sort_by(|a, b| a.id.cmp(&b.id));
        assert_eq!(back, entries, "every entry once");
        for chunk in &chunks {
            let shard = shard_of(parse(&chunk.body).unwrap()[0].campaign());
            assert!(chunk.key.starts_with(&format!("log/s/{shard}/")));
            assert!(parse(&chunk.body)
                .unwrap()
                .iter()
                .all(|e| shard_of(e.campaign()) == shard));
            assert_eq!(key_millis(&chunk.key), Some(id_millis(&chunk.meta.last)));
            let stored: usize = metadata(&chunk.meta)
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum();
            assert!(stored <= MAX_META_BYTES, "{stored} bytes of metadata");
        }
        // The same entries give the same keys: a redelivered batch rewrites them.
        assert_eq!(bucket_chunks(entries), chunks);
    }

    #[test]
    fn chunks_are_cut_by_span_by_size_and_by_the_campaigns_their_meta_can_name() {
        // A straggler two minutes older than the rest goes apart.
        let mut late = vec![entry(&entry_id(T0, 0), Some("a"), None)];
        late.extend((1..10).map(|i| entry(&entry_id(T0 + 120_000 + i, i as u32), Some("a"), None)));
        let cut = unattributed_chunks(late);
        assert_eq!(
            cut.iter().map(|(m, _)| m.count).collect::<Vec<_>>(),
            vec![1, 9]
        );
        // A hot campaign: about a megabyte a chunk.
        let mut big = entry(&entry_id(T0, 0), Some("hot"), None);
        big.postback.click_id = Some("x".repeat(10_000));
        let hot: Vec<LogEntry> = (0..300u64)
            .map(|i| LogEntry {
                id: entry_id(T0 + i, i as u32),
                ..big.clone()
            })
            .collect();
        let chunks = unattributed_chunks(hot);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        assert!(chunks.iter().all(|(_, body)| body.len() <= MAX_CHUNK_BYTES));
        // Thousands of campaigns in one window: as many chunks as their
        // metas need, each within R2's metadata limit.
        let many: Vec<LogEntry> = (0..5000u64)
            .map(|i| {
                entry(
                    &entry_id(T0 + i, i as u32),
                    Some(&format!("campaign-{i}")),
                    Some("goal_not_found"),
                )
            })
            .collect();
        let chunks = bucket_chunks(many);
        assert!(chunks.len() > SHARDS as usize);
        for chunk in &chunks {
            let json = &metadata(&chunk.meta)[0].1;
            assert!(json.len() <= MAX_META_BYTES, "{}", json.len());
        }
    }

    #[test]
    fn what_is_stored_already_is_not_written_again() {
        let entries: Vec<LogEntry> = (0..4)
            .map(|i| entry(&entry_id(T0 + i, 0), Some("a"), None))
            .collect();
        let stored: HashSet<String> = [entries[1].id.clone(), entries[3].id.clone()].into();
        let left = not_stored(entries.clone(), &stored);
        assert_eq!(left, vec![entries[0].clone(), entries[2].clone()]);
        assert_eq!(time_range(&entries), Some((T0, T0 + 3)));
        assert_eq!(time_range(&[]), None);
    }
}
