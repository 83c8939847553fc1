//! The postbacks log rows of one object.

use crate::log::{LogPage, LogQuery, RETENTION_MS};
use worker::{Result, SqlStorage, SqlStorageValue};

/// How often an object drops entries past retention.
pub const PRUNE_EVERY_MS: u64 = 60_000;

/// Stores entries, given as `log::rows_json` writes them, in one
/// statement; with `prune_at`, drops what is past retention at that time;
/// with `bound`, all but the newest `bound` entries.
pub fn insert(
    sql: &SqlStorage,
    rows_json: &str,
    bound: Option<u32>,
    prune_at: Option<u64>,
) -> Result<()> {
    sql.exec(
        "INSERT OR IGNORE INTO log (id, campaign, code, entry)
         SELECT value ->> 0, value ->> 1, value ->> 2, value -> 3 FROM json_each(?)",
        vec![rows_json.into()],
    )?;
    if let Some(now_ms) = prune_at {
        let cutoff = crate::log::entry_id(now_ms.saturating_sub(RETENTION_MS), 0);
        sql.exec("DELETE FROM log WHERE id < ?", vec![cutoff.into()])?;
    }
    if let Some(bound) = bound {
        sql.exec(
            "DELETE FROM log WHERE id <= (SELECT id FROM log ORDER BY id DESC LIMIT 1 OFFSET ?)",
            vec![SqlStorageValue::Integer(i64::from(bound))],
        )?;
    }
    Ok(())
}

fn text_or_null(value: &Option<String>) -> SqlStorageValue {
    value.clone().into()
}

/// This object's newest entries matching `query`, and its counts per code.
pub fn query(sql: &SqlStorage, query: &LogQuery) -> Result<LogPage> {
    let rows = super::rows::all(sql.exec(
        "SELECT entry FROM log
             WHERE (?1 IS NULL OR campaign = ?1) AND (?2 IS NULL OR code = ?2)
               AND (?3 IS NULL OR id >= ?3) AND (?4 IS NULL OR id < ?4)
             ORDER BY id DESC LIMIT ?5",
        vec![
            text_or_null(&query.campaign_id),
            text_or_null(&query.code),
            text_or_null(&query.since_id),
            text_or_null(&query.before),
            SqlStorageValue::Integer(i64::from(query.limit)),
        ],
    )?)?;
    let counts = super::rows::all(sql.exec(
        "SELECT code, COUNT(*) AS n FROM log
             WHERE (?1 IS NULL OR campaign = ?1) AND (?2 IS NULL OR id >= ?2)
             GROUP BY code",
        vec![
            text_or_null(&query.campaign_id),
            text_or_null(&query.since_id),
        ],
    )?)?;
    let entries = rows
        .iter()
        .filter_map(|r| serde_json::from_str(&r.text(0).ok()?).ok())
        .collect();
    let counts = counts
        .iter()
        .map(|c| Ok((c.text(0)?, u64::try_from(c.int(1)?).unwrap_or(0))))
        .collect::<Result<_>>()?;
    Ok(LogPage { entries, counts })
}
