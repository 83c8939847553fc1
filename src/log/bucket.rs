//! The postbacks log in an R2 bucket: how chunks are named so that a
//! listing reads them newest first, by campaign or all together, and what
//! each object's custom metadata says so that counts and filters need no
//! body.
//!
//! Every batch of entries the edge writes (`shell/log_queue.rs`) becomes
//! one object per campaign it holds, under `c/{campaign}/`, and one object
//! with all of them, under `a/`: a query filtered to a campaign lists its
//! prefix, an unfiltered one the other, and neither costs anything per
//! campaign that exists. The key after the prefix is the batch's newest
//! entry time, inverted (so R2's ascending listing is newest first), then
//! a random suffix: `c/1001/998209999999876-0a1b2c3d`.

use super::chunk::ChunkMeta;
use super::{entry_id, LogQuery};

/// What a key's time is subtracted from: larger than any millisecond
/// timestamp, and of the same 15 digits as an entry id's.
const INVERT_FROM: u64 = 999_999_999_999_999;
/// The longest time between a batch's first and newest entry: a batch
/// waits a second for company (`shell/log_queue.rs`); this leaves room
/// for a late flush. Listings start this much after `before`.
pub const MAX_BATCH_SPAN_MS: u64 = 60_000;
/// The prefix of chunks holding every entry of a batch.
pub const ALL: &str = "a/";

/// Where a query's chunks are listed: the campaign's prefix, or all.
pub fn prefix(campaign: Option<&str>) -> String {
    match campaign {
        Some(campaign) => format!("c/{campaign}/"),
        None => ALL.to_owned(),
    }
}

/// The key of a chunk under `prefix` whose newest entry is `last_id`.
pub fn key(prefix: &str, last_id: &str, suffix: u32) -> String {
    format!(
        "{prefix}{:015}-{suffix:08x}",
        INVERT_FROM - id_millis(last_id)
    )
}

/// The time (milliseconds) of an entry id: its first 15 digits.
pub fn id_millis(id: &str) -> u64 {
    id.get(..15)
        .and_then(|ms| ms.parse().ok())
        .unwrap_or(0)
        .min(INVERT_FROM)
}

/// The newest entry time of the chunk a key names; `None` for a key that
/// is not one of ours.
pub fn key_millis(key: &str) -> Option<u64> {
    let name = key.rsplit('/').next()?;
    let inverted: u64 = name.get(..15)?.parse().ok()?;
    INVERT_FROM.checked_sub(inverted)
}

/// Where a listing for `query` starts (R2's `startAfter`): past every chunk
/// too new to hold an entry before the query's `before` (or `until`).
pub fn start_after(prefix: &str, query: &LogQuery) -> Option<String> {
    let before = query.before.as_deref()?;
    let newest = id_millis(before).saturating_add(MAX_BATCH_SPAN_MS);
    Some(format!(
        "{prefix}{:015}",
        INVERT_FROM - newest.min(INVERT_FROM)
    ))
}

/// Whether a chunk whose newest entry is at `last_ms` is older than the
/// query can want: before `since`, or past retention at `now_ms`. Chunks
/// are listed newest first, so the listing stops at the first such one.
pub fn past(query: &LogQuery, last_ms: u64, now_ms: u64, retention_ms: u64) -> bool {
    let since = query.since_id.as_deref().map_or(0, id_millis);
    last_ms < since || last_ms < now_ms.saturating_sub(retention_ms)
}

/// A chunk's meta as R2 custom metadata (string values, a few hundred
/// bytes: R2 allows 2 KiB).
pub fn metadata(meta: &ChunkMeta) -> Vec<(&'static str, String)> {
    let mut fields = vec![
        ("first", meta.first_id.clone()),
        ("last", meta.last_id.clone()),
        ("count", meta.count.to_string()),
        ("codes", meta.codes.clone()),
    ];
    if let Some(campaign) = &meta.campaign {
        fields.push(("campaign", campaign.clone()));
    }
    fields
}

/// A chunk's meta from its custom metadata; `None` if a field is missing.
pub fn meta_from(get: impl Fn(&str) -> Option<String>) -> Option<ChunkMeta> {
    Some(ChunkMeta {
        first_id: get("first")?,
        last_id: get("last")?,
        campaign: get("campaign"),
        count: get("count")?.parse().ok()?,
        codes: get("codes")?,
    })
}

/// Whether a chunk may hold an entry of `code` (its counts say so).
pub fn may_hold_code(meta: &ChunkMeta, code: &str) -> bool {
    serde_json::from_str::<std::collections::BTreeMap<String, u64>>(&meta.codes)
        .map_or(true, |codes| codes.contains_key(code))
}

/// Whether a chunk's counts can be taken from its meta: every entry of it
/// is in the query's time, and the query filters on nothing the meta does
/// not say (a click, an action, a conversion, a partner).
pub fn wholly_since(query: &LogQuery, meta: &ChunkMeta) -> bool {
    let fields = [
        &query.click_id,
        &query.action_id,
        &query.conversion_id,
        &query.partner_id,
    ];
    fields.iter().all(|f| f.is_none())
        && query
            .since_id
            .as_deref()
            .is_none_or(|since| meta.first_id.as_str() >= since)
        && query
            .before
            .as_deref()
            .is_none_or(|before| meta.last_id.as_str() < before)
}

/// The lower bound of a query's time as an entry id prefix, for `since`.
pub fn since_id(ms: u64) -> String {
    entry_id(ms, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64) -> String {
        entry_id(ms, 7)
    }

    #[test]
    fn keys_list_newest_first_within_a_prefix() {
        let p = prefix(Some("1001"));
        let newer = key(&p, &id(1_790_000_000_500), 1);
        let older = key(&p, &id(1_790_000_000_400), 2);
        assert!(newer < older, "{newer} !< {older}");
        assert!(newer.starts_with("c/1001/"));
        assert_eq!(key_millis(&newer), Some(1_790_000_000_500));
        assert_eq!(prefix(None), "a/");
        // Another campaign's prefix is not a prefix of this one's.
        assert!(!key(&prefix(Some("10011")), &id(1), 1).starts_with(&p));
    }

    #[test]
    fn a_listing_for_before_skips_only_chunks_too_new_to_matter() {
        let p = prefix(None);
        let query = LogQuery {
            before: Some(id(1_790_000_100_000)),
            limit: 10,
            ..LogQuery::default()
        };
        let start = start_after(&p, &query).unwrap();
        // A chunk whose newest entry is within a batch's span after
        // `before` may hold older entries: listed.
        let close = key(&p, &id(1_790_000_100_000 + MAX_BATCH_SPAN_MS), 0);
        assert!(close > start, "{close} is skipped");
        // One newer than that cannot: skipped.
        let far = key(&p, &id(1_790_000_100_000 + MAX_BATCH_SPAN_MS + 1), 0);
        assert!(far <= start, "{far} is listed");
        assert_eq!(start_after(&p, &LogQuery::default()), None);
    }

    #[test]
    fn listings_stop_at_since_and_at_retention() {
        let query = LogQuery {
            since_id: Some(since_id(1_000_000)),
            ..LogQuery::default()
        };
        assert!(!past(&query, 1_000_000, 2_000_000, 10_000_000));
        assert!(past(&query, 999_999, 2_000_000, 10_000_000));
        let all = LogQuery::default();
        assert!(past(&all, 999, 11_000, 10_000));
        assert!(!past(&all, 1_000, 11_000, 10_000));
    }

    #[test]
    fn metadata_round_trips_and_says_what_a_chunk_holds() {
        let meta = ChunkMeta {
            first_id: id(1),
            last_id: id(2),
            campaign: Some("1001".into()),
            count: 3,
            codes: r#"{"accepted":1,"cap_reached":2}"#.into(),
        };
        let fields = metadata(&meta);
        let back = meta_from(|name| {
            fields
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        });
        assert_eq!(back.as_ref(), Some(&meta));
        assert!(may_hold_code(&meta, "cap_reached"));
        assert!(!may_hold_code(&meta, "goal_not_found"));
        let mixed = ChunkMeta {
            campaign: None,
            ..meta
        };
        let fields = metadata(&mixed);
        assert!(fields.iter().all(|(n, _)| *n != "campaign"));
        assert_eq!(meta_from(|_| None), None);
    }
}
