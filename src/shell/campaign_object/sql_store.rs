//! The ledger's `Store` on the campaign object's SQLite tables.

use crate::ledger::{Change, Conversion, CounterKey, Known, Store};
use crate::status::Status;
use rust_decimal::Decimal;
use wasm_bindgen::prelude::*;
use worker::js_sys::Function;
use worker::{Result, SqlStorage, SqlStorageValue, State};

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

pub struct SqlStore {
    sql: SqlStorage,
    raw: TransactionalStorage,
}

impl SqlStore {
    pub fn new(state: &State) -> SqlStore {
        let storage = state.storage();
        SqlStore {
            sql: storage.sql(),
            raw: AsRef::<JsValue>::as_ref(storage.as_raw())
                .clone()
                .unchecked_into(),
        }
    }
}

impl Store for SqlStore {
    type Error = worker::Error;

    fn conversion(&self, identity: &str) -> Result<Option<Known>> {
        let row = super::rows::first(self.sql.exec(
            "SELECT id, status, revision, updated_at, record FROM known WHERE key = ?",
            vec![key(identity).into()],
        )?)?;
        let Some(row) = row else {
            return Ok(None);
        };
        if let Some(record) = row.opt_text(4)? {
            let conversion: Conversion = serde_json::from_str(&record)
                .map_err(|e| worker::Error::RustError(format!("stored conversion: {e}")))?;
            return Ok(Some(Known::Full(Box::new(conversion))));
        }
        let status = Status::parse(&row.text(1)?)
            .ok_or_else(|| worker::Error::RustError("a stored status is unknown".to_owned()))?;
        Ok(Some(Known::Settled {
            id: row.text(0)?,
            status,
            revision: u32::try_from(row.int(2)?).unwrap_or(u32::MAX),
            updated_at: row.int(3)?,
        }))
    }

    fn counter(&self, key: &CounterKey) -> Result<Decimal> {
        let row = super::rows::first(self.sql.exec(
            "SELECT value FROM counters WHERE key = ?",
            vec![key.as_str().into()],
        )?)?;
        match row {
            None => Ok(Decimal::ZERO),
            Some(row) => Decimal::from_str_exact(&row.text(0)?)
                .map_err(|e| worker::Error::RustError(format!("stored counter: {e}"))),
        }
    }

    /// Conversion, counters and outbox row in one `transactionSync`.
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

/// The key a conversion is stored under: the first 16 bytes of the
/// SHA-256 of its identity, so that what a settled conversion keeps is a
/// few dozen bytes whatever the length of its click or action id.
pub fn key(identity: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(identity.as_bytes())[..16].to_vec()
}

/// Stores what the object keeps of a conversion (`Conversion::known`),
/// replacing what it kept before under the same identity.
pub fn remember(sql: &SqlStorage, c: &Conversion) -> Result<()> {
    // A final conversion keeps no record: nothing can change it any more,
    // and its outbox message carries it whole until the origin has it.
    let record = match c.known() {
        Known::Full(_) => SqlStorageValue::from(
            serde_json::to_string(c).map_err(|e| worker::Error::RustError(e.to_string()))?,
        ),
        Known::Settled { .. } => SqlStorageValue::Null,
    };
    sql.exec(
        "INSERT INTO known (key, id, status, revision, updated_at, record)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET
           id = excluded.id, status = excluded.status, revision = excluded.revision,
           updated_at = excluded.updated_at, record = excluded.record",
        vec![
            key(&c.identity).into(),
            c.id.as_str().into(),
            c.status.as_str().into(),
            SqlStorageValue::from(i64::from(c.revision)),
            SqlStorageValue::try_from_i64(c.updated_at)?,
            record,
        ],
    )?;
    Ok(())
}

fn write_change(sql: &SqlStorage, change: &Change) -> Result<()> {
    remember(sql, &change.conversion)?;
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
            SqlStorageValue::try_from_i64(message.created_at.saturating_mul(1000))?,
        ],
    )?;
    Ok(())
}
