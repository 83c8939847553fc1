//! What earlier versions left in a campaign object, moved to where today's
//! version keeps it: conversions kept whole forever (`conversions`) into
//! `known`, once, at the object's first request; the postbacks log (a row
//! per entry, `log`, then chunks, `log_chunks`) into today's log through
//! its queue, a batch per alarm run, so that no postback waits for it.

use crate::ledger::{identity_key, Conversion, Known};
use crate::log::batch::BatchWriter;
use crate::log::{chunk, LogEntry};
use crate::shell::error::Failure;
use crate::shell::sql::{int, Sql};
use wasm_bindgen::JsValue;
use worker::{Env, Error, QueueContentType, RawMessageBuilder, Result};

/// Entries moved to the log per alarm run.
const ENTRIES_PER_RUN: i64 = 2_000;

/// Moves the `conversions` table of earlier versions (keyed by identity,
/// the record kept whole forever) into `known`: pending conversions keep
/// their record, final ones only what dedupe needs.
pub fn move_conversions(sql: &Sql) -> Result<()> {
    if !sql.has_table("conversions")? {
        return Ok(());
    }
    for row in sql.all("SELECT record FROM conversions", vec![])? {
        let c: Conversion = serde_json::from_str(&row.text(0)?)
            .map_err(|e| Error::RustError(format!("an earlier version's conversion: {e}")))?;
        let record = match c.known() {
            Known::Full(_) => Some(row.text(0)?),
            Known::Settled { .. } => None,
        };
        sql.run(
            "INSERT INTO known (key, id, status, revision, updated_at, record)
                 VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            vec![
                identity_key(&c.identity).to_vec().into(),
                c.id.as_str().into(),
                c.status.as_str().into(),
                int(i64::from(c.revision))?,
                int(c.updated_at)?,
                record.into(),
            ],
        )?;
    }
    sql.run("DROP TABLE conversions", vec![])?;
    Ok(())
}

/// Whether an earlier version's log is still in this object.
pub fn has_log(sql: &Sql) -> Result<bool> {
    Ok(sql.has_table("log")? || sql.has_table("log_chunks")?)
}

/// Up to [`ENTRIES_PER_RUN`] entries of the object's old log, taken out of
/// it (the tables go once empty); none once it is empty.
fn take(sql: &Sql, limit: i64) -> Result<Vec<LogEntry>> {
    let mut entries = Vec::new();
    if sql.has_table("log")? {
        // Two versions ago: a row per entry.
        for row in sql.all(
            "DELETE FROM log WHERE id IN (SELECT id FROM log ORDER BY id LIMIT ?) RETURNING entry",
            vec![int(limit)?],
        )? {
            entries.push(
                serde_json::from_str(&row.text(0)?)
                    .map_err(|e| Error::RustError(format!("an old log entry: {e}")))?,
            );
        }
        if entries.is_empty() {
            sql.run("DROP TABLE log", vec![])?;
        }
    }
    if entries.is_empty() && sql.has_table("log_chunks")? {
        let chunks = sql.all(
            "DELETE FROM log_chunks WHERE seq IN (SELECT seq FROM log_chunks ORDER BY seq LIMIT ?)
                 RETURNING entries",
            vec![int((limit / 100).max(1))?],
        )?;
        if chunks.is_empty() {
            sql.run("DROP TABLE log_chunks", vec![])?;
        }
        for row in chunks {
            entries.extend(
                chunk::entries(&row.text(0)?)
                    .map_err(|e| Error::RustError(format!("an old log chunk: {e}")))?,
            );
        }
    }
    Ok(entries)
}

/// Moves a batch of the object's old log (a campaign's: every entry names
/// it) to today's log, through the log queue; true if more remain.
pub async fn move_log(sql: &Sql, env: &Env) -> Result<bool> {
    let entries = take(sql, ENTRIES_PER_RUN)?;
    if entries.is_empty() {
        return Ok(false);
    }
    let mut writer = BatchWriter::default();
    let mut batches = Vec::new();
    for entry in &entries {
        batches.extend(writer.push(entry, true));
    }
    batches.push(writer.finish());
    let queue = env.queue(super::super::log_queue::BINDING)?;
    for batch in batches {
        let message = RawMessageBuilder::new(JsValue::from_str(&batch))
            .build_with_content_type(QueueContentType::Text);
        queue
            .send_raw(message)
            .await
            .map_err(|e| Failure::new("moving an old log to the log queue", e))?;
    }
    has_log(sql)
}

/// Every entry of the log of postbacks that named no valid campaign, as the
/// version before kept it in the campaign object named `~unattributed`,
/// taken out of it.
pub fn take_unattributed(sql: &Sql) -> Result<Vec<LogEntry>> {
    let mut all = Vec::new();
    loop {
        let entries = take(sql, ENTRIES_PER_RUN)?;
        if entries.is_empty() {
            return Ok(all);
        }
        all.extend(entries);
    }
}
