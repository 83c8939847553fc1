//! The postbacks log of one object, in chunks (`log::chunk`): a row per
//! batch of entries, stored as the edge or the object wrote it.

use crate::log::chunk::{self, ChunkMeta, PageBuilder};
use crate::log::{tally_hour, Hours, LogPage, LogQuery, HOUR_MS, RETENTION_MS};
use std::collections::BTreeMap;
use wasm_bindgen::JsValue;
use worker::{Error, Result, SqlStorage, SqlStorageValue};

/// How often an object drops entries past retention.
pub const PRUNE_EVERY_MS: u64 = 60_000;

/// The log's table. `codes` is a JSON object of counts per code, so that
/// counts and code filters read it instead of the entries.
pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS log_chunks (
    seq      INTEGER PRIMARY KEY,
    first_id TEXT NOT NULL,
    last_id  TEXT NOT NULL,
    campaign TEXT,
    count    INTEGER NOT NULL,
    codes    TEXT NOT NULL,
    entries  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_chunks_last ON log_chunks (last_id);
";

/// Stores a chunk: `entries` is its JSON array, as a JavaScript string
/// (handed on to SQLite without a copy into the wasm). With `prune_at`,
/// drops what is past retention at that time; with `bound`, all but the
/// newest `bound` entries.
pub fn insert(
    sql: &SqlStorage,
    meta: &ChunkMeta,
    entries: JsValue,
    bound: Option<u32>,
    prune_at: Option<u64>,
) -> Result<()> {
    store(sql, meta, entries)?;
    if let Some(now_ms) = prune_at {
        // A chunk goes when its newest entry is past retention: entries
        // are kept at least that long.
        let cutoff = crate::log::entry_id(now_ms.saturating_sub(RETENTION_MS), 0);
        sql.exec(
            "DELETE FROM log_chunks WHERE last_id < ?",
            vec![cutoff.into()],
        )?;
    }
    if let Some(bound) = bound {
        keep_newest(sql, u64::from(bound))?;
    }
    Ok(())
}

fn store(sql: &SqlStorage, meta: &ChunkMeta, entries: JsValue) -> Result<()> {
    // json(): codes that are not JSON fail the insert, rather than every
    // later query that reads them.
    sql.exec_raw(
        "INSERT INTO log_chunks (first_id, last_id, campaign, count, codes, entries)
         VALUES (?, ?, ?, ?, json(?), ?)",
        vec![
            JsValue::from_str(&meta.first_id),
            JsValue::from_str(&meta.last_id),
            meta.campaign
                .as_deref()
                .map_or(JsValue::NULL, JsValue::from_str),
            JsValue::from(meta.count),
            JsValue::from_str(&meta.codes),
            entries,
        ],
    )?;
    Ok(())
}

/// Drops the oldest entries past `bound`: whole chunks while that is not
/// too many, then the oldest entries of the chunk the bound falls in.
fn keep_newest(sql: &SqlStorage, bound: u64) -> Result<()> {
    let total = super::rows::first(sql.exec("SELECT SUM(count) FROM log_chunks", None)?)?
        .and_then(|row| row.opt_int(0).ok().flatten())
        .map_or(0, |n| u64::try_from(n).unwrap_or(0));
    let mut excess = total.saturating_sub(bound);
    while excess > 0 {
        let Some(oldest) = super::rows::first(sql.exec(
            "SELECT seq, count, entries FROM log_chunks ORDER BY last_id LIMIT 1",
            None,
        )?)?
        else {
            break;
        };
        let count = u64::try_from(oldest.int(1)?).unwrap_or(0);
        sql.exec(
            "DELETE FROM log_chunks WHERE seq = ?",
            vec![oldest.int(0)?.into()],
        )?;
        if count > excess {
            // The bound falls inside this chunk: its newest entries stay.
            let drop = usize::try_from(excess).unwrap_or(usize::MAX);
            if let Some((meta, entries)) = chunk::without_oldest(parse(&oldest.text(2)?)?, drop) {
                store(sql, &meta, JsValue::from_str(&entries))?;
            }
            break;
        }
        excess -= count;
    }
    Ok(())
}

/// Moves the rows of the table this one replaced (`log`, a row per entry,
/// written by earlier versions) into chunks of up to 500 entries, once per
/// object, in one statement: an object that kept its storage keeps its
/// log.
pub fn migrate(sql: &SqlStorage) -> Result<()> {
    let old = super::rows::first(sql.exec(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log'",
        None,
    )?)?;
    if old.is_none() {
        return Ok(());
    }
    sql.exec(
        "WITH old AS MATERIALIZED (
             SELECT id, campaign, code, entry, (ROW_NUMBER() OVER (ORDER BY id) - 1) / 500 AS grp
             FROM log),
         codes AS (
             SELECT grp, json_group_object(code, n) AS codes
             FROM (SELECT grp, code, COUNT(*) AS n FROM old GROUP BY grp, code) GROUP BY grp),
         chunks AS (
             SELECT grp, MIN(id) AS first_id, MAX(id) AS last_id,
                 CASE WHEN COUNT(campaign) = COUNT(*) AND COUNT(DISTINCT campaign) = 1
                      THEN MAX(campaign) END AS campaign,
                 COUNT(*) AS count, '[' || group_concat(entry, ',') || ']' AS entries
             FROM old GROUP BY grp)
         INSERT INTO log_chunks (first_id, last_id, campaign, count, codes, entries)
         SELECT first_id, last_id, campaign, count, codes, entries
         FROM chunks JOIN codes USING (grp)",
        None,
    )?;
    sql.exec("DROP TABLE log", None)?;
    Ok(())
}

fn parse(entries: &str) -> Result<Vec<crate::log::LogEntry>> {
    chunk::entries(entries).map_err(|e| Error::RustError(format!("a stored log chunk: {e}")))
}

fn text_or_null(value: &Option<String>) -> SqlStorageValue {
    value.clone().into()
}

/// This object's newest entries matching `query`, and its counts per code.
pub fn query(sql: &SqlStorage, query: &LogQuery) -> Result<LogPage> {
    // Chunks that can hold a match, newest first; a chunk of mixed
    // campaigns (no `campaign`) may hold the one asked for.
    let chunks = sql.exec(
        "SELECT last_id, entries FROM log_chunks
             WHERE (?1 IS NULL OR campaign IS ?1 OR campaign IS NULL)
               AND (?2 IS NULL OR EXISTS (SELECT 1 FROM json_each(codes) WHERE key = ?2))
               AND (?3 IS NULL OR last_id >= ?3) AND (?4 IS NULL OR first_id < ?4)
             ORDER BY last_id DESC",
        vec![
            text_or_null(&query.campaign_id),
            text_or_null(&query.code),
            text_or_null(&query.since_id),
            text_or_null(&query.before),
        ],
    )?;
    let mut page = PageBuilder::new(query);
    for row in super::rows::each(chunks) {
        let row = row?;
        if !page.wants(&row.text(0)?) {
            break;
        }
        page.add(parse(&row.text(1)?)?);
    }
    let (counts, hours) = counts(sql, query)?;
    Ok(LogPage {
        entries: page.finish(),
        counts,
        hours,
    })
}

/// Counts per code over the query's campaign and time: from the chunks'
/// own counts where a chunk lies wholly inside, from the entries of the
/// few that do not (one that straddles `since`; one of mixed campaigns).
fn counts(sql: &SqlStorage, query: &LogQuery) -> Result<(BTreeMap<String, u64>, Hours)> {
    let scope = || {
        vec![
            text_or_null(&query.campaign_id),
            text_or_null(&query.since_id),
        ]
    };
    let whole = super::rows::all(sql.exec(
        "SELECT j.key, SUM(j.value), CAST(substr(c.last_id, 1, 15) AS INTEGER) / 3600000
             FROM log_chunks c, json_each(c.codes) j
             WHERE (?1 IS NULL OR c.campaign IS ?1) AND (?2 IS NULL OR c.first_id >= ?2)
             GROUP BY 1, 3",
        scope(),
    )?)?;
    let mut counts = BTreeMap::new();
    let mut hours = Hours::new();
    for row in whole {
        let (code, n) = (row.text(0)?, u64::try_from(row.int(1)?).unwrap_or(0));
        let hour = u64::try_from(row.int(2)?).unwrap_or(0) * HOUR_MS;
        tally_hour(&mut hours, hour, &code, n);
        *counts.entry(code).or_default() += n;
    }
    let partial = super::rows::all(sql.exec(
        "SELECT entries FROM log_chunks
             WHERE (?1 IS NULL OR campaign IS ?1 OR campaign IS NULL)
               AND (?2 IS NULL OR last_id >= ?2)
               AND NOT ((?1 IS NULL OR campaign IS ?1) AND (?2 IS NULL OR first_id >= ?2))",
        scope(),
    )?)?;
    for row in partial {
        chunk::count_into(&mut counts, &mut hours, query, &parse(&row.text(0)?)?);
    }
    Ok((counts, hours))
}
