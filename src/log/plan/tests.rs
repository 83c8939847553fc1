//! The read rule held to a brute-force answer: for every filter and their
//! combinations, the entries and counts a [`Reading`] gives from chunks —
//! as the bucket stores them (by shard, a window at a time, overlapping
//! in time), as the unattributed log stores them (every campaign mixed),
//! and as an earlier version stored them for all campaigns (totals only)
//! — are those of the entries themselves.

use super::*;
use crate::log::answer::merge;
use crate::log::chunk::tests::entry;
use crate::log::chunk::{chunk_of, entries as parse, ChunkMeta, Tally};
use crate::log::id::{bound, entry_id};

const HOUR: u64 = 3_600_000;
const T0: u64 = 1_790_000_000_000;

/// 600 entries over six hours: four campaigns and none, three partners
/// and none, a handful of codes and dry runs, clicks, actions, conversions.
fn entries() -> Vec<LogEntry> {
    let campaigns = [Some("a"), Some("b"), Some("c"), None, Some("a")];
    let codes = [
        None,
        Some("goal_not_found"),
        Some("cap_reached"),
        None,
        Some("click_not_found"),
    ];
    (0..600u64)
        .map(|i| {
            let ms = T0 + i * 36_000 + (i * 7919) % 1000;
            let mut e = entry(
                &entry_id(ms, i as u32),
                campaigns[(i % 5) as usize],
                codes[(i % 7 % 5) as usize],
            );
            e.postback.partner_id =
                [Some("77"), Some("81"), None, Some("90")][(i % 4) as usize].map(str::to_owned);
            e.postback.click_id = Some(format!("click{}", i % 9));
            e.postback.action_id = (i % 3 == 0).then(|| format!("order{}", i % 11));
            e.conversion_id = e.code.is_none().then(|| format!("cv_{}", i % 13));
            e.postback.dry_run = i % 17 == 0;
            e
        })
        .collect()
}

/// A store: chunks, each listed with its meta, read newest first by their
/// newest entry.
struct Store(Vec<(ChunkMeta, String)>);

impl Store {
    fn of(chunks: Vec<Vec<LogEntry>>) -> Store {
        let mut chunks: Vec<_> = chunks
            .iter()
            .filter(|c| !c.is_empty())
            .map(chunk_of)
            .collect();
        chunks.sort_by(|a, b| b.0.last.cmp(&a.0.last));
        Store(chunks)
    }

    /// The answer, read through the rule; `budget` chunks at most.
    fn answer(&self, query: &LogQuery, scope: &Scope, counting: bool, budget: usize) -> LogPage {
        let mut reading = Reading::new(query, scope, counting, T0 + 6 * HOUR, 30 * 24 * HOUR);
        let mut looked = 0;
        for (meta, body) in &self.0 {
            if looked == budget {
                break;
            }
            looked += 1;
            if looked == budget {
                reading.stopped_after(meta);
            }
            match reading.step(meta) {
                Step::Stop => break,
                Step::Skip => {}
                Step::Count => reading.count(meta),
                Step::Read => reading.read(meta, parse(body).unwrap()),
            }
        }
        reading.finish()
    }
}

/// The bucket's layout: per shard (two here), one chunk per gathering
/// window of four minutes; the windows of two consumers overlap.
fn bucket(entries: &[LogEntry]) -> Vec<Store> {
    let shard = |e: &LogEntry| usize::from(matches!(e.campaign(), "b" | "c"));
    (0..2)
        .map(|s| {
            let mut windows: std::collections::BTreeMap<(u64, u64), Vec<LogEntry>> =
                Default::default();
            for (i, e) in entries.iter().filter(|e| shard(e) == s).enumerate() {
                let ms = id_millis(&e.id);
                windows
                    .entry((ms / 240_000, i as u64 % 2))
                    .or_default()
                    .push(e.clone());
            }
            Store::of(windows.into_values().collect())
        })
        .collect()
}

/// The bucket's shards as a query reads them: one sequence, the next
/// chunk always the newest of the shards' next ones ([`newest_next`]).
fn shards_as_one(entries: &[LogEntry]) -> Vec<Store> {
    let shards = bucket(entries);
    let mut at = vec![0; shards.len()];
    let mut sequence = Vec::new();
    while let Some(s) = newest_next(
        shards
            .iter()
            .zip(&at)
            .map(|(shard, &i)| shard.0.get(i).map(|(meta, _)| meta)),
    ) {
        sequence.push(shards[s].0[at[s]].clone());
        at[s] += 1;
    }
    vec![Store(sequence)]
}

/// The unattributed log's layout: chunks of every campaign mixed, of
/// uneven sizes.
fn unattributed(entries: &[LogEntry]) -> Vec<Store> {
    let mut chunks = vec![];
    let mut rest = entries;
    let mut size = 1;
    while !rest.is_empty() {
        let (chunk, more) = rest.split_at(size.min(rest.len()));
        chunks.push(chunk.to_vec());
        rest = more;
        size = size % 37 + 3;
    }
    vec![Store::of(chunks)]
}

/// An earlier version's chunks for all campaigns: totals only.
fn totals(entries: &[LogEntry]) -> Vec<Store> {
    let mut store = Store::of(entries.chunks(25).map(<[_]>::to_vec).collect());
    for (meta, _) in &mut store.0 {
        let total = meta.counts_for(None).unwrap();
        meta.tally = Tally::Total(total);
    }
    vec![store]
}

/// What the answer must be, from the entries themselves.
fn brute_force(entries: &[LogEntry], q: &LogQuery, scope: &Scope) -> (Vec<String>, Counts) {
    let in_range = |e: &&LogEntry| {
        let field = |w: &Option<String>, h: &Option<String>| {
            w.as_deref().is_none_or(|w| h.as_deref() == Some(w))
        };
        scope.campaigns().is_none_or(|c| c.contains(e.campaign()))
            && field(&q.click_id, &e.postback.click_id)
            && field(&q.action_id, &e.postback.action_id)
            && field(&q.conversion_id, &e.conversion_id)
            && field(&q.partner_id, &e.postback.partner_id)
            && q.since_id.as_deref().is_none_or(|s| e.id.as_str() >= s)
            && q.before.as_deref().is_none_or(|b| e.id.as_str() < b)
    };
    let mut counts = Counts::new();
    for e in entries.iter().filter(in_range) {
        *counts.entry(e.count_key().to_owned()).or_default() += 1;
    }
    let mut ids: Vec<String> = entries
        .iter()
        .filter(in_range)
        .filter(|e| q.code.as_deref().is_none_or(|c| e.count_key() == c))
        .map(|e| e.id.clone())
        .collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    ids.truncate(q.limit as usize);
    (ids, counts)
}

/// Every combination of the filters a query can carry.
fn queries() -> Vec<(LogQuery, Scope)> {
    let scopes = [
        Scope::all(),
        Scope::only(["a"]),
        Scope::only(["a", "c"]),
        Scope::only([""]),
        Scope::only(["nobody"]),
    ];
    let codes = [
        None,
        Some("accepted"),
        Some("goal_not_found"),
        Some("dry_run"),
    ];
    type Field = fn(&mut LogQuery);
    let fields: [Field; 6] = [
        |_| {},
        |q| q.click_id = Some("click4".into()),
        |q| q.action_id = Some("order3".into()),
        |q| q.conversion_id = Some("cv_5".into()),
        |q| q.partner_id = Some("77".into()),
        |q| {
            q.partner_id = Some("81".into());
            q.click_id = Some("click1".into());
        },
    ];
    let sinces = [None, Some(bound(T0 + 2 * HOUR + 123))];
    let befores = [
        None,
        Some(bound(T0 + 4 * HOUR + 77)),
        Some(entry_id(T0 + 5 * HOUR, 0)),
    ];
    let mut all = vec![];
    for scope in &scopes {
        for code in codes {
            for field in fields {
                for since in &sinces {
                    for before in &befores {
                        for limit in [7, 500] {
                            let mut q = LogQuery {
                                code: code.map(str::to_owned),
                                since_id: since.clone(),
                                before: before.clone(),
                                limit,
                                ..LogQuery::default()
                            };
                            field(&mut q);
                            all.push((q, scope.clone()));
                        }
                    }
                }
            }
        }
    }
    all
}

#[test]
fn every_filter_counts_and_pages_as_the_entries_say_in_every_store() {
    let entries = entries();
    type Layout = fn(&[LogEntry]) -> Vec<Store>;
    let layouts: [(&str, Layout); 4] = [
        ("bucket", bucket),
        ("bucket, shards as one", shards_as_one),
        ("unattributed", unattributed),
        ("totals", totals),
    ];
    let mut checked = 0;
    for (name, layout) in layouts {
        let stores = layout(&entries);
        for (q, scope) in queries() {
            let (ids, counts) = brute_force(&entries, &q, &scope);
            for counting in [true, false] {
                let pages = stores
                    .iter()
                    .map(|s| s.answer(&q, &scope, counting, usize::MAX))
                    .collect();
                let page = merge(pages, q.limit);
                let got: Vec<String> = page.entries.iter().map(|e| e.id.clone()).collect();
                assert_eq!(
                    got, ids,
                    "{name}: entries of {q:?} {scope:?} counting={counting}"
                );
                if counting {
                    assert_eq!(page.counts, counts, "{name}: counts of {q:?} {scope:?}");
                    let drawn: u64 = page.hours.values().map(|[a, r]| a + r).sum();
                    let traffic: u64 = counts
                        .iter()
                        .filter(|(k, _)| *k != "dry_run")
                        .map(|(_, n)| n)
                        .sum();
                    assert_eq!(drawn, traffic, "{name}: hours of {q:?}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 8_000, "{checked}");
}

#[test]
fn a_reading_stops_where_nothing_older_can_count() {
    let entries = entries();
    let stores = bucket(&entries);
    // A page alone stops once it is full and older chunks cannot change it.
    let q = LogQuery {
        limit: 5,
        ..LogQuery::default()
    };
    let scope = Scope::all();
    let mut reading = Reading::new(&q, &scope, false, T0 + 6 * HOUR, 30 * 24 * HOUR);
    let mut read = 0;
    let mut stopped = false;
    for (meta, body) in &stores[0].0 {
        match reading.step(meta) {
            Step::Stop => {
                stopped = true;
                break;
            }
            Step::Read => {
                read += 1;
                reading.read(meta, parse(body).unwrap());
            }
            _ => {}
        }
    }
    assert!(stopped && read <= 6, "{read} chunks read for five entries");
    // Past retention or before `since`: stop.
    let old = ChunkMeta::of(&[entry(&entry_id(T0, 0), Some("a"), None)]);
    let late = Reading::new(&q, &scope, true, T0 + 31 * 24 * HOUR, 30 * 24 * HOUR);
    assert_eq!(late.step(&old), Step::Stop);
    let since = LogQuery {
        since_id: Some(bound(T0 + 1)),
        ..q.clone()
    };
    assert_eq!(
        Reading::new(&since, &scope, true, T0, 30 * 24 * HOUR).step(&old),
        Step::Stop
    );
    // Counting with no filter beyond the campaign: the meta is enough.
    let only_a = Scope::only(["a"]);
    let counting = Reading::new(&q, &only_a, true, T0, 30 * 24 * HOUR);
    let full: Vec<LogEntry> = (0..5)
        .map(|i| entry(&entry_id(T0 + 10 + i, 0), Some("a"), None))
        .collect();
    let mut filled = Reading::new(&q, &only_a, true, T0, 30 * 24 * HOUR);
    filled.read(&ChunkMeta::of(&full), full.clone());
    assert_eq!(
        filled.step(&old),
        Step::Count,
        "a full page counts older chunks from their meta"
    );
    assert_eq!(
        counting.step(&ChunkMeta::of(&[entry(&entry_id(T0, 0), Some("b"), None)])),
        Step::Skip
    );
}

#[test]
fn a_store_that_stops_short_says_where() {
    let entries = entries();
    let stores = unattributed(&entries);
    let q = LogQuery {
        limit: 500,
        ..LogQuery::default()
    };
    let page = stores[0].answer(&q, &Scope::all(), true, 10);
    let cut = page.cut.expect("a cut");
    let merged = merge(vec![page], 500);
    assert_eq!(merged.next_before(500), Some(bound(cut)));
    // What it answers is every entry from the cut on, and only those.
    let mut expected: Vec<&str> = entries
        .iter()
        .map(|e| e.id.as_str())
        .filter(|id| *id >= bound(cut).as_str())
        .collect();
    expected.sort_unstable_by(|a, b| b.cmp(a));
    let got: Vec<&str> = merged.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(got, expected);
    assert!(!got.is_empty() && got.len() < entries.len());
}
