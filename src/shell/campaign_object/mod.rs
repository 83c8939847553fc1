//! The campaign Durable Object: one per campaign, named by its id, the
//! single writer of that campaign's conversions, cap counters, outbox and
//! postbacks log, on SQLite storage. One more object, named
//! [`UNATTRIBUTED`], keeps the bounded log of postbacks that name no valid
//! campaign.
//!
//! A postback's read, decision and write run with no `await` between them
//! (SQL calls are synchronous), so no other postback for the campaign can
//! interleave: that is what makes caps exact.
//!
//! Its methods, which the edge calls over RPC (`shell/object_client.rs`;
//! `js/entry.mjs` forwards each from the class the runtime knows); the
//! object has no fetch handler and is not reachable from outside:
//! `submit` a `Submission` → its `Verdict`; `writeLog` a chunk of log
//! entries (`log::chunk`); `queryLog` a `LogQuery` → a `LogPage`;
//! `outboxStatus` → what waits for the origin; `outboxRetry` → how many
//! parked messages were brought back; and the alarm, which delivers.

mod delivery;
mod log_table;
mod rows;
mod sql_store;

use crate::ledger::{self, Decision, Store, Submission};
use crate::log::chunk::ChunkMeta;
use crate::log::LogQuery;
use serde::de::DeserializeOwned;
use sql_store::SqlStore;
use std::cell::Cell;
use wasm_bindgen::prelude::*;
use worker::js_sys;
use worker::{console_error, Env, Result, State};

use super::platform::{nonce_u32, now_millis};

pub const BINDING: &str = "CAMPAIGN";
/// The object that logs postbacks naming no valid campaign. Not a valid
/// campaign id (`~`), so no campaign can collide with it.
pub const UNATTRIBUTED: &str = "~unattributed";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversions (
    identity   TEXT PRIMARY KEY,
    id         TEXT NOT NULL,
    status     TEXT NOT NULL,
    record     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
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

    /// Stores a chunk of log entries as the edge wrote it: `meta` its
    /// `ChunkMeta` as JSON, `entries` their JSON array (a JavaScript string
    /// that passes through to SQLite, never copied into the wasm), `bound`
    /// the most entries to keep (the unattributed log's).
    #[wasm_bindgen(js_name = writeLog)]
    pub async fn write_log(
        &self,
        meta: String,
        entries: JsValue,
        bound: Option<u32>,
    ) -> std::result::Result<(), JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let meta: ChunkMeta = from_json(&meta).map_err(to_js_error)?;
        if !entries.is_string() {
            return Err(js_error("writeLog: the entries are not a string"));
        }
        let prune = self.prune_due(now_millis());
        log_table::insert(&self.sql(), &meta, entries, bound, prune).map_err(to_js_error)
    }

    /// Answers a `LogQuery` (JSON) with a `LogPage` (JSON).
    #[wasm_bindgen(js_name = queryLog)]
    pub async fn query_log(&self, query: String) -> std::result::Result<String, JsValue> {
        self.ready().await.map_err(to_js_error)?;
        let query: LogQuery = from_json(&query).map_err(to_js_error)?;
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

    /// The outbox's alarm: delivers what is due.
    pub async fn alarm(&self) -> std::result::Result<(), JsValue> {
        // Postbacks committed from now on need a new alarm.
        self.alarm_pending.set(false);
        self.ensure_schema().map_err(to_js_error)?;
        delivery::deliver_due(&self.state, &self.env)
            .await
            .map_err(to_js_error)
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
    /// since it started, the outbox's alarm again if anything waits (a
    /// restarted object resumes delivering what it had accepted).
    async fn ready(&self) -> Result<()> {
        let first_request = self.ensure_schema()?;
        if first_request && delivery::has_waiting(&self.sql()).unwrap_or(true) {
            self.wake_outbox().await;
        }
        Ok(())
    }

    fn sql(&self) -> worker::SqlStorage {
        self.state.storage().sql()
    }

    /// Creates the tables once per object instance; true the first time.
    fn ensure_schema(&self) -> Result<bool> {
        if self.schema_ready.get() {
            return Ok(false);
        }
        self.sql().exec(SCHEMA, None)?;
        self.sql().exec(log_table::SCHEMA, None)?;
        log_table::migrate(&self.sql())?;
        self.schema_ready.set(true);
        Ok(true)
    }

    async fn decide(&self, submission: Submission, dry_run: bool) -> Result<String> {
        // From here to the commit and the log row: no await.
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
        let verdict = decision.verdict();
        let entry = submission.log.decided(&verdict, now_ms, nonce_u32());
        // The postback counted whatever happens to its log row.
        let prune = self.prune_due(now_ms);
        let (meta, entries) = crate::log::chunk::chunk_of([&entry]);
        let entries = JsValue::from_str(&entries);
        if let Err(e) = log_table::insert(&self.sql(), &meta, entries, None, prune) {
            console_error!("log row for {}: {e}", submission.campaign_id);
        }
        if committed {
            self.wake_outbox().await;
        }
        to_json(&verdict)
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

/// A method's argument from JSON the edge wrote.
fn from_json<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| worker::Error::RustError(format!("bad JSON from the edge: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}
