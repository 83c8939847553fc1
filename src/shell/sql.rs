//! A Durable Object's SQL, metered: every statement's cursor is read to
//! its end and its rows read and written (what the platform bills) added
//! to the object's [`Meter`], which `stats` reports; rows read by column
//! position; and transactions (`transactionSync`).

use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use worker::js_sys::Function;
use worker::{Error, Result, SqlCursor, SqlStorage, SqlStorageValue};

#[wasm_bindgen]
extern "C" {
    /// An object's storage, seen for the one method `worker` 0.8 does not
    /// bind.
    #[wasm_bindgen(extends = worker::js_sys::Object)]
    pub type TransactionalStorage;

    /// `storage.transactionSync(fn)`: runs `fn` in a transaction, rolled
    /// back if it throws.
    #[wasm_bindgen(method, catch, js_name = transactionSync)]
    fn transaction_sync(
        this: &TransactionalStorage,
        f: &Function,
    ) -> std::result::Result<JsValue, JsValue>;
}

/// The storage of `state`, for [`transaction`].
pub fn transactional(state: &worker::State) -> TransactionalStorage {
    AsRef::<JsValue>::as_ref(state.storage().as_raw())
        .clone()
        .unchecked_into()
}

/// Runs `write` in one transaction: all of it or, on error, none.
pub fn transaction(
    storage: &TransactionalStorage,
    write: impl FnOnce() -> Result<()> + 'static,
) -> Result<()> {
    let run = Closure::once_into_js(move || -> std::result::Result<(), JsValue> {
        write().map_err(|e| JsValue::from_str(&e.to_string()))
    });
    storage
        .transaction_sync(run.unchecked_ref())
        .map(drop)
        .map_err(Error::from)
}

/// What an object's SQL has cost since it started.
#[derive(Debug, Default)]
pub struct Meter {
    pub rows_read: Cell<u64>,
    pub rows_written: Cell<u64>,
    /// Alarms set: the platform bills each as a row written.
    pub alarms_set: Cell<u64>,
}

/// The object's database, with its meter.
#[derive(Clone)]
pub struct Sql {
    storage: SqlStorage,
    meter: Rc<Meter>,
}

impl Sql {
    pub fn new(storage: SqlStorage, meter: Rc<Meter>) -> Sql {
        Sql { storage, meter }
    }

    /// Every row `query` answers.
    pub fn all(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<Vec<Row>> {
        let cursor = self.storage.exec(query, bindings)?;
        let rows = cursor
            .raw()
            .map(|row| row.map(Row))
            .collect::<Result<Vec<_>>>();
        self.count(&cursor);
        rows
    }

    /// The first row `query` answers, if any (the statement runs whole).
    pub fn first(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<Option<Row>> {
        Ok(self.all(query, bindings)?.into_iter().next())
    }

    /// Runs `query`; the rows it wrote.
    pub fn run(&self, query: &str, bindings: Vec<SqlStorageValue>) -> Result<u64> {
        let cursor = self.storage.exec(query, bindings)?;
        for row in cursor.raw() {
            row?;
        }
        Ok(self.count(&cursor))
    }

    /// Whether the database has a table named `name`.
    pub fn has_table(&self, name: &str) -> Result<bool> {
        Ok(self
            .first(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                vec![name.into()],
            )?
            .is_some())
    }

    /// The database's size in bytes.
    pub fn database_size(&self) -> u64 {
        self.storage.database_size() as u64
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Adds a consumed cursor's rows to the meter; the rows it wrote.
    fn count(&self, cursor: &SqlCursor) -> u64 {
        let (read, written) = (cursor.rows_read() as u64, cursor.rows_written() as u64);
        let meter = &self.meter;
        meter.rows_read.set(meter.rows_read.get() + read);
        meter.rows_written.set(meter.rows_written.get() + written);
        written
    }
}

/// The version of the schema a database holds (0 for one that never said):
/// kept in the `meta` table, which holds a few named numbers (Durable
/// Objects refuse `PRAGMA user_version`).
pub fn version(sql: &Sql) -> Result<i64> {
    sql.run(
        "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
        vec![],
    )?;
    Ok(sql
        .first("SELECT value FROM meta WHERE name = 'schema'", vec![])?
        .map(|row| row.int(0))
        .transpose()?
        .unwrap_or(0))
}

pub fn set_version(sql: &Sql, version: i64) -> Result<()> {
    sql.run(
        "INSERT INTO meta (name, value) VALUES ('schema', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        vec![SqlStorageValue::Integer(version)],
    )?;
    Ok(())
}

/// A row, its columns by position.
pub struct Row(Vec<SqlStorageValue>);

impl Row {
    fn column(&self, index: usize) -> Result<&SqlStorageValue> {
        self.0
            .get(index)
            .ok_or_else(|| Error::RustError(format!("SQL row has no column {index}")))
    }

    pub fn text(&self, index: usize) -> Result<String> {
        not_null(self.opt_text(index)?, index)
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>> {
        match self.column(index)? {
            SqlStorageValue::Null => Ok(None),
            SqlStorageValue::String(s) => Ok(Some(s.clone())),
            _ => Err(Error::RustError(format!("SQL column {index} is not text"))),
        }
    }

    pub fn blob(&self, index: usize) -> Result<Vec<u8>> {
        match self.column(index)? {
            SqlStorageValue::Blob(b) => Ok(b.clone()),
            _ => Err(Error::RustError(format!(
                "SQL column {index} is not a blob"
            ))),
        }
    }

    pub fn int(&self, index: usize) -> Result<i64> {
        not_null(self.opt_int(index)?, index)
    }

    /// An integer column; SQLite's `SUM` and `MAX` may come back as floats.
    pub fn opt_int(&self, index: usize) -> Result<Option<i64>> {
        match self.column(index)? {
            SqlStorageValue::Null => Ok(None),
            SqlStorageValue::Integer(n) => Ok(Some(*n)),
            SqlStorageValue::Float(f) => Ok(Some(*f as i64)),
            _ => Err(Error::RustError(format!(
                "SQL column {index} is not a number"
            ))),
        }
    }
}

fn not_null<T>(value: Option<T>, index: usize) -> Result<T> {
    value.ok_or_else(|| Error::RustError(format!("SQL column {index} is NULL")))
}

/// A value for a binding from an `i64` (SQLite's integers, as far as
/// JavaScript represents them exactly).
pub fn int(n: i64) -> Result<SqlStorageValue> {
    SqlStorageValue::try_from_i64(n)
}
