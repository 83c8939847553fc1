//! One conversion as its object knows it (`GET /v1/conversions/{id}`):
//! what `known` keeps of it, and its messages still in the outbox.
//!
//! SQLite writes the answer's JSON itself: the record and the message
//! bodies are stored as JSON already, and nothing here needs their fields.

use super::rows;
use worker::{Result, SqlStorage, SqlStorageValue};

/// The conversion `id` as JSON, or `None` if the object does not remember
/// it. Reads one row of `known` (by its id index) and the conversion's
/// outbox rows (by their key range, `msg_{id}_{revision}`).
///
/// Its delivery state: `delivered` once no message waits (the origin
/// answered 2xx to each), `parked` when one stopped being retried (it
/// waits for `POST /v1/outbox/retry`), else `waiting`. Its record: whole
/// while pending; once final, from its last message until the origin has
/// it; after that, only its log entries hold it.
pub fn conversion(sql: &SqlStorage, id: &str, parked_at: i64) -> Result<Option<String>> {
    let row = rows::first(sql.exec(
        "WITH messages AS (
             SELECT * FROM outbox WHERE id >= 'msg_' || ?1 || '_' AND id < 'msg_' || ?1 || '`'
         )
         SELECT json_object(
             'conversion_id', k.id,
             'status', k.status,
             'revision', k.revision,
             'updated_at', strftime('%Y-%m-%dT%H:%M:%SZ', k.updated_at, 'unixepoch'),
             'delivery', CASE
                 WHEN NOT EXISTS (SELECT 1 FROM messages) THEN 'delivered'
                 WHEN EXISTS (SELECT 1 FROM messages WHERE next_attempt_at >= ?2) THEN 'parked'
                 ELSE 'waiting' END,
             'outbox', json((SELECT json_group_array(json_object(
                 'id', id,
                 'attempts', attempts,
                 'next_attempt_at', CASE WHEN next_attempt_at < ?2
                     THEN strftime('%Y-%m-%dT%H:%M:%fZ', next_attempt_at / 1000.0, 'unixepoch') END,
                 'parked', json(CASE WHEN next_attempt_at >= ?2 THEN 'true' ELSE 'false' END),
                 'last_error', last_error)) FROM (SELECT * FROM messages ORDER BY created_at, id))),
             -- json(): a value out of a subquery loses its JSON type.
             'conversion', json(COALESCE(k.record,
                 (SELECT json_extract(body, '$.data') FROM messages ORDER BY created_at DESC, id DESC LIMIT 1))))
         FROM known k WHERE k.id = ?1",
        vec![id.into(), SqlStorageValue::try_from_i64(parked_at)?],
    )?)?;
    row.map(|row| row.text(0)).transpose()
}
