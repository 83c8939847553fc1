//! SQL rows read by column position. The `worker` crate's typed reads
//! (`to_array::<T>()`) go through serde-wasm-bindgen, which compiles a
//! second deserializer for every row type into the wasm; these few
//! accessors do the same job.

use worker::{Error, Result, SqlCursor, SqlStorageValue};

pub struct Row(Vec<SqlStorageValue>);

/// Every row of a query.
pub fn all(cursor: SqlCursor) -> Result<Vec<Row>> {
    cursor.raw().map(|row| row.map(Row)).collect()
}

/// The rows of a query as they are read, so a reader can stop early.
pub fn each(cursor: SqlCursor) -> impl Iterator<Item = Result<Row>> {
    cursor.raw().map(|row| row.map(Row))
}

/// The first row of a query, if any.
pub fn first(cursor: SqlCursor) -> Result<Option<Row>> {
    cursor.raw().next().transpose().map(|row| row.map(Row))
}

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
