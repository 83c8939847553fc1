//! What an operator asks of one object: a conversion by its id
//! (`GET /v1/conversions/{id}`) and what the object holds
//! (`GET /v1/campaigns/{id}/stats`).

use super::store::{delivery_of, known_of};
use crate::ledger::key_prefix;
use crate::lookup::{ConversionView, ObjectStats};
use crate::shell::sql::{Row, Sql};
use worker::Result;

/// `known_of`'s columns, then `delivery_of`'s from the sixth.
const COLUMNS: &str =
    "id, status, revision, updated_at, record, outbox, attempts, next_attempt_at, last_error";

/// The conversion `id` as the object knows it. A conversion id carries the
/// first bytes of its row's key, so this reads the few rows whose keys
/// start so; an id made before it did (`legacy_ids`: the object was
/// migrated within the longest window) is looked for in the whole table.
pub fn conversion(sql: &Sql, id: &str, legacy_ids: bool) -> Result<Option<ConversionView>> {
    let mut rows = Vec::new();
    if let Some(prefix) = key_prefix(id) {
        let mut end = prefix.to_vec();
        // The smallest key past every key starting with `prefix`.
        while let Some(last) = end.pop() {
            if last < u8::MAX {
                end.push(last + 1);
                break;
            }
        }
        rows = sql.all(
            &format!("SELECT {COLUMNS} FROM known WHERE key >= ? AND (? = x'' OR key < ?)"),
            vec![prefix.to_vec().into(), end.clone().into(), end.into()],
        )?;
    }
    let mut found = find(rows, id)?;
    if found.is_none() && legacy_ids {
        let rows = sql.all(
            &format!("SELECT {COLUMNS} FROM known WHERE id = ?"),
            vec![id.into()],
        )?;
        found = find(rows, id)?;
    }
    Ok(found)
}

fn find(rows: Vec<Row>, id: &str) -> Result<Option<ConversionView>> {
    for row in rows {
        if row.text(0)? == id {
            let known = known_of(&row)?;
            let delivery = delivery_of(&row, 5)?;
            return Ok(Some(ConversionView::of(&known, delivery.as_ref())));
        }
    }
    Ok(None)
}

/// What the object holds (its cost since it started is the meter's).
pub fn holdings(sql: &Sql) -> Result<ObjectStats> {
    let row = sql.first(
        "SELECT COUNT(*), COUNT(record), COALESCE(SUM(json_array_length(outbox)), 0) FROM known",
        vec![],
    )?;
    let count = |i| -> Result<u64> {
        Ok(row
            .as_ref()
            .map(|r| r.opt_int(i))
            .transpose()?
            .flatten()
            .map_or(0, |n| u64::try_from(n).unwrap_or(0)))
    };
    Ok(ObjectStats {
        conversions: count(0)?,
        pending: count(1)?,
        outbox: count(2)?,
        database_bytes: sql.database_size(),
        ..ObjectStats::default()
    })
}
