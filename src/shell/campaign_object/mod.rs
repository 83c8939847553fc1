//! The campaign Durable Object: one per campaign, named by its id, the
//! single writer of that campaign's conversions, cap counters and outbox,
//! on SQLite storage. Everything it keeps is bounded: conversions for their
//! dedupe window, counters for their period, outbox rows until the origin
//! has them; the postbacks log lives in R2 (`shell/log_bucket.rs`). One more
//! object, named [`UNATTRIBUTED`], keeps the bounded log of postbacks that
//! name no valid campaign.
//!
//! A postback's read, decision and write run with no `await` between them
//! (SQL calls are synchronous), so no other postback for the campaign can
//! interleave: that is what makes caps exact.
//!
//! Its methods, which the edge calls over RPC (`shell/object_client.rs`;
//! `js/entry.mjs` forwards each from the class the runtime knows); the
//! object has no fetch handler and is not reachable from outside:
//! `submit` a `Submission` → its `Verdict`; `writeLog` a chunk of log
//! entries (`log::chunk`); `queryLog` a `LogQuery`'s fields → a `LogPage`;
//! `outboxStatus` → what waits for the origin; `outboxRetry` → how many
//! parked messages were brought back; and the alarm, which delivers.

mod delivery;
mod legacy;
mod log_table;
mod lookup;
mod rows;
mod sql_store;

use crate::ledger::{self, Decision, Forgetting, Store, Submission, FORGET_BATCH};
use crate::log::chunk::ChunkMeta;
use crate::log::LogQuery;
use serde::de::DeserializeOwned;
use sql_store::SqlStore;
use std::cell::Cell;
use wasm_bindgen::prelude::*;
use worker::js_sys;
use worker::{console_error, Env, Result, State};

use super::platform::now_millis;

pub const BINDING: &str = "CAMPAIGN";
/// The object that logs postbacks naming no valid campaign. Not a valid
/// campaign id (`~`), so no campaign can collide with it.
pub const UNATTRIBUTED: &str = "~unattributed";

/// `known`: what the object remembers of each conversion, by the hash of
/// its identity (`sql_store::key`), for its campaign's dedupe window after
/// its last change: the whole record while it is pending, then only id,
/// status and revision. Its size grows with the rate of conversions times
/// the window, never with the campaign's age.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS known (
    key        BLOB PRIMARY KEY,
    id         TEXT NOT NULL,
    status     TEXT NOT NULL,
    revision   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    record     TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS known_updated ON known (updated_at);
-- GET /v1/conversions/{id} finds a conversion by its public id.
CREATE INDEX IF NOT EXISTS known_id ON known (id);
CREATE TABLE IF NOT EXISTS counters (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
-- created_at in seconds, next_attempt_at in milliseconds.
CREATE TABLE IF NOT EXISTS outbox (
    id              TEXT PRIMARY KEY,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (next_attempt_at);
";

/// The object, as `js/entry.mjs` constructs it inside the class the runtime
/// knows (only a class that extends `DurableObject` can be called over
/// RPC): its methods are the ones that class forwards.
/// Not the `worker` crate's `#[durable_object]`, whose fetch handler
/// nothing here uses, and whose request and response types every method
/// would bring into the wasm.
#[wasm_bindgen]
pub struct CampaignObject {
    state: State,
    env: Env,
    schema_ready: Cell<bool>,
    /// An alarm is set and has not run yet: no need to set it again.
    alarm_pending: Cell<bool>,
    /// When log retention last ran.
    pruned_at: Cell<u64>,
    /// When the object next forgets conversions past their window (Unix
    /// milliseconds; 0: at its first postback).
    forget_at: Cell<u64>,
    /// Whether it is past [`STORAGE_SOFT_LIMIT`], forgetting its oldest
    /// conversions before their window ends.
    forgetting_early: Cell<bool>,
    /// What the bucket was last told of this object's outbox
    /// (`delivery::deliver_due`).
    outbox_marked: Cell<Option<bool>>,
}

#[wasm_bindgen(wasm_bindgen_futures = worker::wasm_bindgen_futures)]
impl CampaignObject {
    #[wasm_bindgen(constructor)]
    pub fn new(state: worker::worker_sys::DurableObjectState, env: Env) -> CampaignObject {
        CampaignObject {
            state: State::from(state),
            env,
            schema_ready: Cell::new(false),
            alarm_pending: Cell::new(false),
            pruned_at: Cell::new(0),
            forget_at: Cell::new(0),
            forgetting_early: Cell::new(false),
            outbox_marked: Cell::new(None),
        }
    }

    /// Decides a postback: `submission` is a `Submission` as JSON; its
    /// `Verdict` as JSON. With `dry_run`, nothing is written but the log
    /// entry.
    pub async fn submit(
        &self,
        submission: String,
        dry_run: bool,
    ) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let submission: Submission = from_json(&submission).map_err(to_js_error)?;
        self.decide(submission, dry_run).await.map_err(to_js_error)
    }

    /// Stores a chunk of log entries as the edge wrote it: its meta
    /// (`ChunkMeta`'s fields), `entries` their JSON array (a JavaScript
    /// string that passes through to SQLite, never copied into the wasm),
    /// `bound` the most entries to keep (the unattributed log's).
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = writeLog)]
    pub async fn write_log(
        &self,
        first_id: String,
        last_id: String,
        campaign: Option<String>,
        count: u32,
        codes: String,
        entries: JsValue,
        bound: Option<u32>,
    ) -> std::result::Result<(), JsValue> {
        self.ready().await.map_err(to_js_error)?;
        self.ensure_log_schema().map_err(to_js_error)?;
        let meta = ChunkMeta {
            first_id,
            last_id,
            campaign,
            count,
            codes,
        };
        if !entries.is_string() {
            return Err(js_error("writeLog: the entries are not a string"));
        }
        let prune = self.prune_due(now_millis());
        log_table::insert(&self.sql(), &meta, entries, bound, prune).map_err(to_js_error)
    }

    /// Answers a `LogQuery`, given by its fields, with a `LogPage` (JSON).
    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(js_name = queryLog)]
    pub async fn query_log(
        &self,
        campaign_id: Option<String>,
        code: Option<String>,
        click_id: Option<String>,
        action_id: Option<String>,
        conversion_id: Option<String>,
        partner_id: Option<String>,
        since_id: Option<String>,
        before: Option<String>,
        limit: u32,
    ) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        self.ensure_log_schema().map_err(to_js_error)?;
        let query = LogQuery {
            campaign_id,
            code,
            click_id,
            action_id,
            conversion_id,
            partner_id,
            since_id,
            before,
            limit,
        };
        if !query.is_valid() {
            return Err(js_error("queryLog: the limit is out of range"));
        }
        let page = log_table::query(&self.sql(), &query).map_err(to_js_error)?;
        to_json(&page).map_err(to_js_error)
    }

    /// What waits for the origin, as JSON.
    #[wasm_bindgen(js_name = outboxStatus)]
    pub async fn outbox_status(&self) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let status = delivery::status(&self.sql()).map_err(to_js_error)?;
        to_json(&status).map_err(to_js_error)
    }

    /// Brings parked messages back into delivery; how many.
    #[wasm_bindgen(js_name = outboxRetry)]
    pub async fn outbox_retry(&self) -> std::result::Result<u32, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let requeued = delivery::requeue_parked(&self.sql(), now_millis()).map_err(to_js_error)?;
        if requeued > 0 {
            // Whatever alarm is set may be hours away.
            self.alarm_pending.set(false);
            self.wake_outbox().await;
        }
        Ok(u32::try_from(requeued).unwrap_or(u32::MAX))
    }

    /// The conversion `id` as the object knows it (JSON), or `null`.
    pub async fn conversion(&self, id: String) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let found = lookup::conversion(&self.sql(), &id, delivery::PARKED).map_err(to_js_error)?;
        Ok(found.unwrap_or_else(|| "null".to_owned()))
    }

    /// What the object holds, for an operator: conversions remembered (and
    /// how many of them are pending, kept whole), outbox rows, the SQLite
    /// database's bytes. JSON.
    pub async fn stats(&self) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let sql = self.sql();
        let count = |query: &str| -> Result<i64> {
            Ok(rows::first(sql.exec(query, None)?)?
                .map(|row| row.int(0))
                .transpose()?
                .unwrap_or(0))
        };
        let stats = serde_json::json!({
            "conversions": count("SELECT COUNT(*) FROM known").map_err(to_js_error)?,
            "pending": count("SELECT COUNT(*) FROM known WHERE record IS NOT NULL").map_err(to_js_error)?,
            "outbox": count("SELECT COUNT(*) FROM outbox").map_err(to_js_error)?,
            "database_bytes": sql.database_size(),
        });
        Ok(stats.to_string())
    }

    /// The alarm: delivers what is due, and moves an earlier version's log
    /// entries to the bucket a batch at a time.
    pub async fn alarm(&self) -> std::result::Result<(), JsValue> {
        // Postbacks committed from now on need a new alarm.
        self.alarm_pending.set(false);
        self.ensure_schema().map_err(to_js_error)?;
        delivery::deliver_due(&self.state, &self.env, &self.outbox_marked)
            .await
            .map_err(to_js_error)?;
        if self.has_legacy_log().map_err(to_js_error)? {
            let more = legacy::move_log(&self.sql(), &self.env)
                .await
                .map_err(to_js_error)?;
            if more {
                let soon = i64::try_from(now_millis())
                    .unwrap_or(i64::MAX)
                    .saturating_add(1000);
                self.state
                    .storage()
                    .set_alarm(soon)
                    .await
                    .map_err(to_js_error)?;
            }
        }
        Ok(())
    }
}

fn to_js_error(error: worker::Error) -> JsValue {
    js_sys::Error::new(&error.to_string()).into()
}

fn js_error(message: &str) -> JsValue {
    js_sys::Error::new(message).into()
}

impl CampaignObject {
    /// Before any method: the schema, and on an object's first request
    /// since it started, the alarm again if anything waits — deliveries (a
    /// restarted object resumes delivering what it had accepted), or an
    /// earlier version's log entries still to move to the bucket.
    async fn ready(&self) -> Result<()> {
        let first_request = self.ensure_schema()?;
        let waiting = || delivery::has_waiting(&self.sql()).unwrap_or(true);
        if first_request && (waiting() || self.has_legacy_log()?) {
            self.wake_outbox().await;
        }
        Ok(())
    }

    /// Whether a campaign's object still holds an earlier version's log
    /// (the unattributed object's log is its own, and stays).
    fn has_legacy_log(&self) -> Result<bool> {
        let unattributed = self.state.id().name().as_deref() == Some(UNATTRIBUTED);
        Ok(!unattributed && legacy::has_log(&self.sql())?)
    }

    fn sql(&self) -> worker::SqlStorage {
        self.state.storage().sql()
    }

    /// Creates the tables once per object instance (and moves an earlier
    /// version's conversions into today's table); true the first time.
    fn ensure_schema(&self) -> Result<bool> {
        if self.schema_ready.get() {
            return Ok(false);
        }
        self.sql().exec(SCHEMA, None)?;
        legacy::move_conversions(&self.sql())?;
        self.schema_ready.set(true);
        Ok(true)
    }

    /// The unattributed log's table, for the one object that keeps it.
    fn ensure_log_schema(&self) -> Result<()> {
        self.sql().exec(log_table::SCHEMA, None)?;
        log_table::migrate(&self.sql())?;
        Ok(())
    }

    async fn decide(&self, submission: Submission, dry_run: bool) -> Result<String> {
        // From here to the commit: no await.
        let mut store = SqlStore::new(&self.state);
        let now_ms = now_millis();
        let now = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
        let decision = ledger::decide(&store, &submission, now)?;
        let committed = match (&decision, dry_run) {
            (Decision::Accept(change), false) => {
                store.commit(change)?;
                true
            }
            _ => false,
        };
        if now_ms >= self.forget_at.get() {
            let remembered = ledger::remembered_since(now, submission.dedupe_window_days);
            self.forget_past_window(now_ms, remembered, submission.campaign_id.as_str());
        }
        if committed {
            self.wake_outbox().await;
        }
        to_json(&decision.verdict())
    }

    /// Identities past the window are forgotten already (`decide` treats
    /// them as new); their rows go here, a batch at a time: again a second
    /// later after a batch that found some, else a minute later.
    /// `remembered`: the window's start (Unix seconds).
    fn forget_past_window(&self, now_ms: u64, remembered: i64, campaign_id: &str) {
        let forgetting = forget(&self.sql(), remembered).unwrap_or_else(|e| {
            console_error!("forgetting old conversions of {campaign_id}: {e}");
            Forgetting::Done
        });
        let early = forgetting == Forgetting::Early;
        // Said when it starts, not on every batch.
        if early && !self.forgetting_early.get() {
            console_error!("campaign {campaign_id}: its object passed {STORAGE_SOFT_LIMIT} bytes, and forgets its oldest conversions before their dedupe window ends");
        }
        self.forgetting_early.set(early);
        self.forget_at
            .set(now_ms.saturating_add(forgetting.next_batch_in_ms()));
    }

    /// Asks for an alarm now, so the outbox is delivered. A failure here
    /// loses nothing: the row is stored, and the next postback or restart
    /// asks again.
    async fn wake_outbox(&self) {
        if self.alarm_pending.get() {
            return;
        }
        match self.state.storage().set_alarm(0i64).await {
            Ok(()) => self.alarm_pending.set(true),
            Err(e) => console_error!("setting the outbox alarm: {e}"),
        }
    }

    /// `Some(now)` if log retention is due (at most once a minute).
    fn prune_due(&self, now_ms: u64) -> Option<u64> {
        if now_ms.saturating_sub(self.pruned_at.get()) < log_table::PRUNE_EVERY_MS {
            return None;
        }
        self.pruned_at.set(now_ms);
        Some(now_ms)
    }
}

/// The database size past which an object forgets its oldest conversions
/// even inside their window, so that conversions never take it to the
/// platform's 10 GB (where every write, postbacks included, would fail): a
/// campaign hot enough for its window not to fit remembers as much of it
/// as fits (docs/SCALING.md). Only an outbox the origin does not take can
/// fill it; messages are never dropped.
const STORAGE_SOFT_LIMIT: u64 = 8 << 30;

/// Forgets conversions whose last change is older than `remembered` (Unix
/// seconds) or, past [`STORAGE_SOFT_LIMIT`], the oldest ones whatever their
/// age, a batch at a time.
fn forget(sql: &worker::SqlStorage, remembered: i64) -> Result<Forgetting> {
    let full = || sql.database_size() as u64 > STORAGE_SOFT_LIMIT;
    let was_full = full();
    let oldest_allowed = if was_full { i64::MAX } else { remembered };
    let deleted = sql.exec(
        "DELETE FROM known WHERE key IN
             (SELECT key FROM known WHERE updated_at < ? ORDER BY updated_at LIMIT ?)",
        vec![
            worker::SqlStorageValue::try_from_i64(oldest_allowed.min(9_007_199_254_740_991))?,
            worker::SqlStorageValue::Integer(FORGET_BATCH),
        ],
    )?;
    Ok(Forgetting::after_batch(
        was_full && full(),
        deleted.rows_written() > 0,
    ))
}

/// A method's argument from JSON the edge wrote.
fn from_json<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| worker::Error::RustError(format!("bad JSON from the edge: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}
