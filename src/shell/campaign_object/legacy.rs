//! What earlier versions left in a campaign object, moved to where today's
//! version keeps it: conversions into `known`, once, on the object's first
//! request; the postbacks log (a row per entry, then chunks) into the R2
//! bucket, a batch per alarm run, so that no postback waits for it.

use super::log_table;
use super::rows;
use super::sql_store::remember;
use crate::ledger::Conversion;
use crate::log::bucket;
use crate::log::chunk::ChunkMeta;
use crate::shell::log_bucket;
use worker::{Env, Error, Result, SqlStorage, SqlStorageValue};

/// Chunks moved to the bucket per alarm run.
const CHUNKS_PER_RUN: i64 = 50;

fn table_exists(sql: &SqlStorage, name: &str) -> Result<bool> {
    Ok(rows::first(sql.exec(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
        vec![name.into()],
    )?)?
    .is_some())
}

/// Moves the `conversions` table of earlier versions (keyed by identity,
/// the record kept whole forever) into `known`: pending conversions keep
/// their record, final ones only what dedupe needs. One transaction per
/// object, at its first request after the upgrade.
pub fn move_conversions(sql: &SqlStorage) -> Result<()> {
    if !table_exists(sql, "conversions")? {
        return Ok(());
    }
    let old = rows::all(sql.exec("SELECT record FROM conversions", None)?)?;
    for row in old {
        let conversion: Conversion = serde_json::from_str(&row.text(0)?)
            .map_err(|e| Error::RustError(format!("an earlier version's conversion: {e}")))?;
        remember(sql, &conversion)?;
    }
    sql.exec("DROP TABLE conversions", None)?;
    Ok(())
}

/// Whether an earlier version's log is still in this object.
pub fn has_log(sql: &SqlStorage) -> Result<bool> {
    Ok(table_exists(sql, "log")? || table_exists(sql, "log_chunks")?)
}

/// Moves up to [`CHUNKS_PER_RUN`] of the object's log chunks to the bucket
/// (each under its campaign's prefix and the all-campaigns one), deleting
/// each once stored; the table goes when it is empty. True if more remain.
/// An object of a campaign only ever held that campaign's entries.
pub async fn move_log(sql: &SqlStorage, env: &Env) -> Result<bool> {
    if table_exists(sql, "log")? {
        // The row-per-entry table of two versions ago: into chunks first.
        sql.exec(log_table::SCHEMA, None)?;
        log_table::migrate(sql)?;
    }
    let bucket = log_bucket::bucket(env).map_err(Error::RustError)?;
    let chunks = rows::all(sql.exec(
        "SELECT seq, first_id, last_id, campaign, count, codes, entries
             FROM log_chunks ORDER BY seq LIMIT ?",
        vec![SqlStorageValue::from(CHUNKS_PER_RUN)],
    )?)?;
    if chunks.is_empty() {
        sql.exec("DROP TABLE log_chunks", None)?;
        return Ok(false);
    }
    for chunk in &chunks {
        let meta = ChunkMeta {
            first_id: chunk.text(1)?,
            last_id: chunk.text(2)?,
            campaign: chunk.opt_text(3)?,
            count: u32::try_from(chunk.int(4)?).unwrap_or(0),
            codes: chunk.text(5)?,
        };
        let entries = chunk.text(6)?;
        let prefixes = [
            bucket::prefix(meta.campaign.as_deref()),
            bucket::ALL.to_owned(),
        ];
        for prefix in prefixes.iter().collect::<std::collections::BTreeSet<_>>() {
            log_bucket::put_chunk(&bucket, prefix, &meta, &entries)
                .await
                .map_err(Error::RustError)?;
        }
        sql.exec(
            "DELETE FROM log_chunks WHERE seq = ?",
            vec![SqlStorageValue::from(chunk.int(0)?)],
        )?;
    }
    if rows::first(sql.exec("SELECT 1 FROM log_chunks LIMIT 1", None)?)?.is_none() {
        sql.exec("DROP TABLE log_chunks", None)?;
        return Ok(false);
    }
    Ok(true)
}
