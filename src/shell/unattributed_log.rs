//! The log of postbacks that name no valid campaign: its own Durable
//! Object (one, named `log`), bounded by count so that junk traffic cannot
//! grow storage without limit (the newest [`MAX_UNATTRIBUTED`] entries,
//! and for no longer than retention). The log queue's consumer writes it
//! a batch at a time; an admin's log query reads it, through the same
//! rule as the bucket (`log::plan`).
//!
//! Methods (RPC, forwarded by `js/entry.mjs`): `write` an
//! `UnattributedBatch` → `null`; `query` a `StoreQuery` → a `LogPage`.
//!
//! [`MAX_UNATTRIBUTED`]: crate::log::MAX_UNATTRIBUTED

use super::sql::{int, transaction, transactional, Meter, Sql, TransactionalStorage};
use crate::log::batch::UnattributedBatch;
use crate::log::chunk::{self, ChunkMeta};
use crate::log::gather;
use crate::log::plan::{Reading, Scope, Step};
use crate::log::{LogEntry, StoreQuery, RETENTION_MS};
use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worker::{js_sys, Env, Error, Result, State};

use super::platform::now_millis;

/// How often retention runs, at most.
const PRUNE_EVERY_MS: u64 = 60_000;

/// A chunk per row, its meta beside its entries; `count` so the bound is
/// kept without reading metas.
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS chunks (
    seq     INTEGER PRIMARY KEY,
    last    TEXT NOT NULL,
    count   INTEGER NOT NULL,
    meta    TEXT NOT NULL,
    entries TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_last ON chunks (last);
";

#[wasm_bindgen]
pub struct UnattributedLog {
    env: Env,
    sql: Sql,
    storage: TransactionalStorage,
    started: Cell<bool>,
    /// Entries kept, once counted.
    total: Cell<Option<u64>>,
    pruned_at: Cell<u64>,
}

#[wasm_bindgen(wasm_bindgen_futures = worker::wasm_bindgen_futures)]
impl UnattributedLog {
    #[wasm_bindgen(constructor)]
    pub fn new(state: worker::worker_sys::DurableObjectState, env: Env) -> UnattributedLog {
        let state = State::from(state);
        UnattributedLog {
            env,
            sql: Sql::new(state.storage().sql(), Rc::new(Meter::default())),
            storage: transactional(&state),
            started: Cell::new(false),
            total: Cell::new(None),
            pruned_at: Cell::new(0),
        }
    }

    /// Stores an `UnattributedBatch` (JSON); answers `null`.
    pub async fn write(&self, batch: String) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let batch: UnattributedBatch = serde_json::from_str(&batch)
            .map_err(|e| to_js_error(Error::RustError(format!("bad JSON from the edge: {e}"))))?;
        self.store(batch).map_err(to_js_error)?;
        Ok("null".to_owned())
    }

    /// Answers a `StoreQuery` (JSON) with a `LogPage` (JSON).
    pub async fn query(&self, query: String) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let asked: StoreQuery = serde_json::from_str(&query)
            .map_err(|e| to_js_error(Error::RustError(format!("bad JSON from the edge: {e}"))))?;
        let page = self.answer(&asked).map_err(to_js_error)?;
        serde_json::to_string(&page).map_err(|e| to_js_error(Error::RustError(e.to_string())))
    }
}

fn to_js_error(error: Error) -> JsValue {
    js_sys::Error::new(&error.to_string()).into()
}

impl UnattributedLog {
    /// Once per instance: the table; on the object's first start, the
    /// entries the version before kept in a campaign object, if a version
    /// before ran (its log is in the bucket: a fresh deployment makes no
    /// object for nothing).
    async fn ready(&self) -> Result<()> {
        if self.started.get() {
            return Ok(());
        }
        if super::sql::version(&self.sql)? < 1 {
            let earlier = super::log_bucket::earlier_version_ran(&self.env).await?;
            let legacy = match earlier {
                true => super::object_client::legacy_unattributed(&self.env).await?,
                false => Vec::new(),
            };
            let sql = self.sql.clone();
            transaction(&self.storage, move || {
                sql.run(TABLES, vec![])?;
                for (meta, entries) in gather::unattributed_chunks(legacy) {
                    insert(&sql, &meta, &entries)?;
                }
                super::sql::set_version(&sql, 1)
            })?;
        }
        self.started.set(true);
        Ok(())
    }

    fn store(&self, batch: UnattributedBatch) -> Result<()> {
        let mut entries = batch.entries;
        if batch.redelivered {
            let stored = self.stored_ids(&entries)?;
            entries = gather::not_stored(entries, &stored);
        }
        let now = now_millis();
        let prune = now.saturating_sub(self.pruned_at.get()) >= PRUNE_EVERY_MS;
        if prune {
            self.pruned_at.set(now);
        }
        let total = match self.total.get() {
            Some(total) => total,
            None => self.count()?,
        };
        let sql = self.sql.clone();
        let kept = Rc::new(Cell::new(total));
        let left = kept.clone();
        transaction(&self.storage, move || {
            for (meta, body) in gather::unattributed_chunks(entries) {
                insert(&sql, &meta, &body)?;
                left.set(left.get() + u64::from(meta.count));
            }
            if prune {
                // A chunk goes when its newest entry is past retention:
                // entries are kept at least that long.
                let cutoff = crate::log::id::bound(now.saturating_sub(RETENTION_MS));
                let gone = sql.all(
                    "DELETE FROM chunks WHERE last < ? RETURNING count",
                    vec![cutoff.into()],
                )?;
                for row in gone {
                    left.set(
                        left.get()
                            .saturating_sub(u64::try_from(row.int(0)?).unwrap_or(0)),
                    );
                }
            }
            let total = keep_newest(&sql, left.get(), u64::from(batch.bound))?;
            left.set(total);
            Ok(())
        })?;
        self.total.set(Some(kept.get()));
        Ok(())
    }

    fn count(&self) -> Result<u64> {
        Ok(self
            .sql
            .first("SELECT COALESCE(SUM(count), 0) FROM chunks", vec![])?
            .map(|row| row.int(0))
            .transpose()?
            .map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    }

    /// The ids of `entries` a chunk holds already.
    fn stored_ids(&self, entries: &[LogEntry]) -> Result<HashSet<String>> {
        let mut stored = HashSet::new();
        let Some((oldest, newest)) = gather::time_range(entries) else {
            return Ok(stored);
        };
        let wanted: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let rows = self.sql.all(
            "SELECT entries FROM chunks WHERE last >= ? AND json_extract(meta, '$.first') <= ?",
            vec![
                crate::log::id::bound(oldest).into(),
                crate::log::id::entry_id(newest, u32::MAX).into(),
            ],
        )?;
        for row in rows {
            for entry in parse(&row.text(0)?)? {
                if wanted.contains(entry.id.as_str()) {
                    stored.insert(entry.id);
                }
            }
        }
        Ok(stored)
    }

    fn answer(&self, asked: &StoreQuery) -> Result<crate::log::LogPage> {
        let query = &asked.query;
        let scope = match &query.campaign_id {
            Some(campaign) => Scope::only([campaign.as_str()]),
            None => Scope::all(),
        };
        let mut reading = Reading::new(query, &scope, asked.counting, now_millis(), RETENTION_MS);
        let rows = self
            .sql
            .all("SELECT seq, meta FROM chunks ORDER BY last DESC", vec![])?;
        for row in rows {
            let meta: ChunkMeta = serde_json::from_str(&row.text(1)?)
                .map_err(|e| Error::RustError(format!("a stored chunk's meta: {e}")))?;
            match reading.step(&meta) {
                Step::Stop => break,
                Step::Skip => {}
                Step::Count => reading.count(&meta),
                Step::Read => {
                    let body = self
                        .sql
                        .first(
                            "SELECT entries FROM chunks WHERE seq = ?",
                            vec![int(row.int(0)?)?],
                        )?
                        .map(|row| row.text(0))
                        .transpose()?
                        .unwrap_or_else(|| "[]".to_owned());
                    reading.read(&meta, parse(&body)?);
                }
            }
        }
        Ok(reading.finish())
    }
}

fn parse(body: &str) -> Result<Vec<LogEntry>> {
    chunk::entries(body).map_err(|e| Error::RustError(format!("a stored log chunk: {e}")))
}

fn insert(sql: &Sql, meta: &ChunkMeta, entries: &str) -> Result<()> {
    let meta_json = serde_json::to_string(meta).map_err(|e| Error::RustError(e.to_string()))?;
    sql.run(
        "INSERT INTO chunks (last, count, meta, entries) VALUES (?, ?, ?, ?)",
        vec![
            meta.last.as_str().into(),
            int(i64::from(meta.count))?,
            meta_json.into(),
            entries.into(),
        ],
    )?;
    Ok(())
}

/// Drops the oldest entries past `bound` (of `total`): whole chunks while
/// that is not too many, then the oldest entries of the chunk the bound
/// falls in. What is left.
fn keep_newest(sql: &Sql, mut total: u64, bound: u64) -> Result<u64> {
    while total > bound {
        let excess = total - bound;
        let Some(oldest) = sql.first(
            "SELECT seq, count, entries FROM chunks ORDER BY last LIMIT 1",
            vec![],
        )?
        else {
            break;
        };
        let count = u64::try_from(oldest.int(1)?).unwrap_or(0);
        sql.run(
            "DELETE FROM chunks WHERE seq = ?",
            vec![int(oldest.int(0)?)?],
        )?;
        total -= count.min(total);
        if count > excess {
            // The bound falls inside this chunk: its newest entries stay.
            let drop = usize::try_from(excess).unwrap_or(usize::MAX);
            if let Some((meta, body)) = chunk::without_oldest(parse(&oldest.text(2)?)?, drop) {
                insert(sql, &meta, &body)?;
                total += u64::from(meta.count);
            }
            break;
        }
    }
    Ok(total)
}
