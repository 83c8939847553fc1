//! The campaign Durable Object: one per campaign, named by its id, the
//! single writer of that campaign's conversions, cap counters and outbox,
//! on SQLite storage.
//!
//! A postback's read, decision and write run with no `await` between them
//! (SQL calls are synchronous), so no other postback for the campaign can
//! interleave: that is what makes caps exact. The write is one
//! `transactionSync`: conversion, counters and outbox row together or not
//! at all.

use crate::ledger::{self, Change, Conversion, CounterKey, Decision, Store, Submission, Verdict};
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use std::cell::Cell;
use std::str::FromStr;
use wasm_bindgen::prelude::*;
use worker::js_sys::Function;
use worker::{
    durable_object, DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorage,
    SqlStorageValue, State,
};

use super::platform::now_millis;

pub const BINDING: &str = "CAMPAIGN";

#[wasm_bindgen]
extern "C" {
    /// The object's storage, seen for the one method `worker` 0.8 does not
    /// bind.
    #[wasm_bindgen(extends = worker::js_sys::Object)]
    type TransactionalStorage;

    /// `storage.transactionSync(fn)`: runs `fn` in a transaction, rolled
    /// back if it throws.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &TransactionalStorage,
        f: &Function,
    ) -> std::result::Result<JsValue, JsValue>;
}

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
CREATE TABLE IF NOT EXISTS outbox (
    id              TEXT PRIMARY KEY,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT
);
";

#[durable_object(fetch)]
pub struct CampaignObject {
    state: State,
    schema_ready: Cell<bool>,
}

impl DurableObject for CampaignObject {
    fn new(state: State, _env: Env) -> Self {
        CampaignObject {
            state,
            schema_ready: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        if req.path() != "/decide" {
            return Response::error("unknown campaign object route", 404);
        }
        let dry_run = req
            .url()?
            .query_pairs()
            .any(|(k, v)| k == "dry_run" && v == "1");
        let submission: Submission = req.json().await?;
        // From here to the answer: no await.
        self.ensure_schema()?;
        let mut store = SqlStore {
            sql: self.state.storage().sql(),
            raw: AsRef::<JsValue>::as_ref(self.state.storage().as_raw())
                .clone()
                .unchecked_into(),
        };
        let now = DateTime::<Utc>::from_timestamp_millis(now_millis() as i64).unwrap_or_default();
        let decision = ledger::decide(&store, &submission, now)?;
        if let (Decision::Accept(change), false) = (&decision, dry_run) {
            store.commit(change)?;
        }
        Response::from_json(&decision.verdict())
    }
}

impl CampaignObject {
    fn ensure_schema(&self) -> Result<()> {
        if !self.schema_ready.get() {
            self.state.storage().sql().exec(SCHEMA, None)?;
            self.schema_ready.set(true);
        }
        Ok(())
    }
}

/// The ledger's [`Store`] on the object's SQLite tables.
struct SqlStore {
    sql: SqlStorage,
    raw: TransactionalStorage,
}

#[derive(Deserialize)]
struct RecordRow {
    record: String,
}

#[derive(Deserialize)]
struct ValueRow {
    value: String,
}

impl Store for SqlStore {
    type Error = worker::Error;

    fn conversion(&self, identity: &str) -> Result<Option<Conversion>> {
        let rows: Vec<RecordRow> = self
            .sql
            .exec(
                "SELECT record FROM conversions WHERE identity = ?",
                vec![identity.into()],
            )?
            .to_array()?;
        match rows.first() {
            None => Ok(None),
            Some(row) => serde_json::from_str(&row.record)
                .map(Some)
                .map_err(|e| worker::Error::RustError(format!("stored conversion: {e}"))),
        }
    }

    fn counter(&self, key: &CounterKey) -> Result<Decimal> {
        let rows: Vec<ValueRow> = self
            .sql
            .exec(
                "SELECT value FROM counters WHERE key = ?",
                vec![key.as_str().into()],
            )?
            .to_array()?;
        match rows.first() {
            None => Ok(Decimal::ZERO),
            Some(row) => Decimal::from_str(&row.value)
                .map_err(|e| worker::Error::RustError(format!("stored counter: {e}"))),
        }
    }

    fn commit(&mut self, change: &Change) -> Result<()> {
        let sql = self.sql.clone();
        let change = change.clone();
        let write = Closure::once_into_js(move || -> std::result::Result<(), JsValue> {
            write_change(&sql, &change).map_err(|e| JsValue::from_str(&e.to_string()))
        });
        self.raw
            .transaction_sync(write.unchecked_ref())
            .map(|_| ())
            .map_err(worker::Error::from)
    }
}

fn write_change(sql: &SqlStorage, change: &Change) -> Result<()> {
    let c = &change.conversion;
    let record = serde_json::to_string(c).map_err(|e| worker::Error::RustError(e.to_string()))?;
    sql.exec(
        "INSERT INTO conversions (identity, id, status, record, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(identity) DO UPDATE SET
           status = excluded.status, record = excluded.record, updated_at = excluded.updated_at",
        vec![
            c.identity.as_str().into(),
            c.id.as_str().into(),
            c.status.as_str().into(),
            record.into(),
            SqlStorageValue::try_from_i64(c.created_at)?,
            SqlStorageValue::try_from_i64(c.updated_at)?,
        ],
    )?;
    for counter in &change.counters {
        sql.exec(
            "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![
                counter.key.as_str().into(),
                counter.value.to_string().into(),
                SqlStorageValue::try_from_i64(counter.expires_at)?,
            ],
        )?;
    }
    let message = &change.outbox;
    sql.exec(
        "INSERT INTO outbox (id, body, created_at, next_attempt_at) VALUES (?, ?, ?, ?)",
        vec![
            message.id.as_str().into(),
            message.body.as_str().into(),
            SqlStorageValue::try_from_i64(message.created_at)?,
            SqlStorageValue::try_from_i64(message.created_at)?,
        ],
    )?;
    Ok(())
}

/// Hands a submission to its campaign's object and returns its verdict.
/// Any failure to get one (the object threw, storage failed, the answer is
/// not a verdict) is an error: the edge answers `internal_error`.
pub async fn submit(
    env: &Env,
    submission: &Submission,
    dry_run: bool,
) -> std::result::Result<Verdict, String> {
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(submission.campaign_id.as_str()))
        .map_err(|e| e.to_string())?;
    let body = serde_json::to_string(submission).map_err(|e| e.to_string())?;
    let url = if dry_run {
        "https://campaign.internal/decide?dry_run=1"
    } else {
        "https://campaign.internal/decide"
    };
    let mut init = RequestInit::new();
    init.with_method(Method::Post)
        .with_body(Some(JsValue::from_str(&body)));
    let request = Request::new_with_init(url, &init).map_err(|e| e.to_string())?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let text = response.text().await.map_err(|e| e.to_string())?;
    if response.status_code() != 200 {
        return Err(format!("answered {}: {text}", response.status_code()));
    }
    serde_json::from_str(&text).map_err(|e| format!("answered a non-verdict {text:?}: {e}"))
}
