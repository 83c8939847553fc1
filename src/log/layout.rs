//! Where the log's chunks live in the R2 bucket, and what each object's
//! custom metadata says so that a listing counts, filters and skips
//! without reading bodies.
//!
//! Every chunk is under `log/`, the prefix the bucket's retention rule
//! covers. A chunk holds the entries of one gathering window (see
//! `log::gather`) for the campaigns of one of [`SHARDS`] shards, a
//! campaign's shard being a hash of its id: `log/s/{shard}/{key}`. A query
//! for a campaign lists its shard's prefix and reads only the chunks whose
//! metadata names the campaign; an unfiltered one lists every shard. The
//! key after the prefix is the chunk's newest entry time, inverted (so
//! R2's ascending listing is newest first), then a digest of its entry
//! ids: `log/s/2/998209999999876-1f2e3d4c5b6a7988`. Writing the same
//! entries twice writes the same key.
//!
//! Earlier versions wrote a chunk per campaign under `c/{campaign}/` and
//! one for all campaigns under `a/`, with other metadata; those are read
//! as well until retention has taken them ([`legacy_prefixes`]).

use super::chunk::{ChunkMeta, Counts, Tally};
use super::id::id_millis;
use super::plan::Scope;
use super::query::LogQuery;

/// How many shards the bucket's chunks are spread over: a window's entries
/// cost up to this many writes, and an unfiltered query this many
/// listings; a campaign's query lists one shard's chunks.
pub const SHARDS: u32 = 4;
/// The longest time between a chunk's oldest and newest entry: the
/// gathering writes an older straggler into a chunk of its own. Listings
/// for a page before `before` start this much after it.
pub const MAX_SPAN_MS: u64 = 60_000;
/// What a key's time is subtracted from: larger than any millisecond
/// timestamp, and of the same 15 digits as an entry id's.
const INVERT_FROM: u64 = 999_999_999_999_999;
/// The custom metadata field holding a chunk's meta, as JSON.
pub const META_FIELD: &str = "meta";

/// The shard a campaign's entries are written to (FNV-1a of its id: a
/// hash that never changes, whatever the platform).
pub fn shard_of(campaign: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in campaign.bytes() {
        hash = (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193);
    }
    hash % SHARDS
}

pub fn shard_prefix(shard: u32) -> String {
    format!("log/s/{shard}/")
}

/// The shard prefixes a query for `scope` lists: its campaigns' shards,
/// or all.
pub fn prefixes(scope: &Scope) -> Vec<String> {
    let mut shards: Vec<u32> = match scope.campaigns() {
        None => (0..SHARDS).collect(),
        Some(campaigns) => campaigns.iter().map(|c| shard_of(c)).collect(),
    };
    shards.sort_unstable();
    shards.dedup();
    shards.into_iter().map(shard_prefix).collect()
}

/// The prefixes earlier versions wrote `scope`'s chunks under.
pub fn legacy_prefixes(scope: &Scope) -> Vec<String> {
    match scope.campaigns() {
        None => vec!["a/".to_owned()],
        Some(campaigns) => campaigns
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| format!("c/{c}/"))
            .collect(),
    }
}

/// The key of a chunk of `shard` with this meta: its newest time, then a
/// digest of its entry ids (`ids`, in any order).
pub fn key<'a>(shard: u32, meta: &ChunkMeta, ids: impl IntoIterator<Item = &'a str>) -> String {
    let mut sorted: Vec<&str> = ids.into_iter().collect();
    sorted.sort_unstable();
    // FNV-1a over the ids: the same entries give the same key.
    let mut digest: u64 = 0xcbf2_9ce4_8422_2325;
    for id in sorted {
        for byte in id.bytes().chain([0]) {
            digest = (digest ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!(
        "{}{:015}-{digest:016x}",
        shard_prefix(shard),
        INVERT_FROM - id_millis(&meta.last).min(INVERT_FROM)
    )
}

/// Where a listing for `query` starts (R2's `startAfter`): past every chunk
/// too new to hold an entry before the query's `before` (or `until`).
pub fn start_after(prefix: &str, query: &LogQuery) -> Option<String> {
    let before = query.before.as_deref()?;
    let newest = id_millis(before).saturating_add(MAX_SPAN_MS);
    Some(format!(
        "{prefix}{:015}",
        INVERT_FROM - newest.min(INVERT_FROM)
    ))
}

/// The newest entry time of the chunk a key names; `None` for a key that
/// is not one of a chunk.
pub fn key_millis(key: &str) -> Option<u64> {
    let name = key.rsplit('/').next()?;
    let inverted: u64 = name.get(..15)?.parse().ok()?;
    INVERT_FROM.checked_sub(inverted)
}

/// A chunk's meta as R2 custom metadata.
pub fn metadata(meta: &ChunkMeta) -> Vec<(String, String)> {
    // Strings and numbers: serializing cannot fail.
    let json = serde_json::to_string(meta).unwrap_or_default();
    vec![(META_FIELD.to_owned(), json)]
}

/// A chunk's meta from its custom metadata (`get` looks a field up):
/// today's, or what an earlier version wrote (`first`, `last`, `count`,
/// `codes` as a JSON object, and `campaign` when a single one); `None` if
/// it is neither.
pub fn meta_from(get: impl Fn(&str) -> Option<String>) -> Option<ChunkMeta> {
    if let Some(json) = get(META_FIELD) {
        return serde_json::from_str(&json).ok();
    }
    let codes: Counts = serde_json::from_str(&get("codes")?).ok()?;
    let tally = match get("campaign") {
        Some(campaign) => Tally::Campaigns([(campaign, codes)].into()),
        None => Tally::Total(codes),
    };
    Some(ChunkMeta {
        first: get("first")?,
        last: get("last")?,
        count: get("count")?.parse().ok()?,
        tally,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::chunk::tests::entry;
    use crate::log::id::{bound, entry_id};

    fn meta_at(ms: u64) -> ChunkMeta {
        ChunkMeta::of(&[entry(&entry_id(ms, 7), Some("1001"), None)])
    }

    #[test]
    fn keys_list_newest_first_within_a_shard_and_repeat_for_the_same_entries() {
        let shard = shard_of("1001");
        assert!(shard < SHARDS);
        let newer = key(shard, &meta_at(1_790_000_000_500), ["a"]);
        let older = key(shard, &meta_at(1_790_000_000_400), ["a"]);
        assert!(newer < older, "{newer} !< {older}");
        assert!(newer.starts_with(&format!("log/s/{shard}/")));
        assert_eq!(key_millis(&newer), Some(1_790_000_000_500));
        assert_eq!(
            key(shard, &meta_at(1), ["x", "y"]),
            key(shard, &meta_at(1), ["y", "x"])
        );
        assert_ne!(
            key(shard, &meta_at(1), ["x", "y"]),
            key(shard, &meta_at(1), ["x"])
        );
        assert_eq!(key_millis("o/1001"), None);
    }

    #[test]
    fn campaigns_spread_over_every_shard_and_a_scope_lists_its_own() {
        let mut seen = [0; SHARDS as usize];
        for i in 0..1000 {
            seen[shard_of(&i.to_string()) as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 150), "{seen:?}");
        assert_eq!(prefixes(&Scope::all()).len(), SHARDS as usize);
        assert_eq!(
            prefixes(&Scope::only(["1001"])),
            vec![shard_prefix(shard_of("1001"))]
        );
        assert_eq!(legacy_prefixes(&Scope::all()), vec!["a/"]);
        assert_eq!(legacy_prefixes(&Scope::only(["1001", ""])), vec!["c/1001/"]);
    }

    #[test]
    fn a_listing_for_before_skips_only_chunks_too_new_to_matter() {
        let p = shard_prefix(0);
        let query = LogQuery {
            before: Some(bound(1_790_000_100_000)),
            limit: 10,
            ..LogQuery::default()
        };
        let start = start_after(&p, &query).unwrap();
        let close = key(0, &meta_at(1_790_000_100_000 + MAX_SPAN_MS), ["a"]);
        assert!(close > start, "{close} is skipped");
        let far = key(0, &meta_at(1_790_000_100_000 + MAX_SPAN_MS + 1), ["a"]);
        assert!(far <= start, "{far} is listed");
        assert_eq!(start_after(&p, &LogQuery::default()), None);
    }

    #[test]
    fn metadata_round_trips_and_earlier_versions_read() {
        let meta = meta_at(1_790_000_000_000);
        let fields = metadata(&meta);
        let back = meta_from(|name| {
            fields
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        });
        assert_eq!(back, Some(meta));
        fn old(campaign: Option<&'static str>) -> impl Fn(&str) -> Option<String> {
            move |name: &str| match name {
                "first" => Some("001-a".to_owned()),
                "last" => Some("002-b".to_owned()),
                "count" => Some("3".to_owned()),
                "codes" => Some(r#"{"accepted":1,"cap_reached":2}"#.to_owned()),
                "campaign" => campaign.map(str::to_owned),
                _ => None,
            }
        }
        let one = meta_from(old(Some("1001"))).unwrap();
        let counts = one.counts_for(Some(&["1001".to_owned()].into())).unwrap();
        assert_eq!(counts["cap_reached"], 2);
        let all = meta_from(old(None)).unwrap();
        assert_eq!(
            all.tally,
            Tally::Total([("accepted".into(), 1), ("cap_reached".into(), 2)].into())
        );
        assert_eq!(meta_from(|_| None), None);
    }
}
