//! The campaign object's tables, and how an object written by an earlier
//! version comes to them: once, at its first request, by the schema's
//! version (kept in the `meta` table: Durable Objects refuse `PRAGMA
//! user_version`).
//!
//! Every row and index is one a read needs, and every write is billed: a
//! conversion is one row, keyed by the hash of its identity, holding its
//! undelivered messages and its cap contributions too, so that a new
//! conversion costs one row written, its delivery one more and its
//! forgetting one more (docs/COST.md). No secondary index: a conversion's
//! id carries its key, forgetting walks the key space in slices, and what
//! waits for the origin is known in memory (rebuilt, after a restart, by
//! one read of the table).

use crate::ledger::OutboxMessage;
use crate::outbox::Delivery;
use crate::shell::sql::{int, Sql};
use std::collections::HashMap;
use worker::Result;

/// The version this code writes.
const VERSION: i64 = 2;

/// `known`: what the object remembers of each conversion, by the hash of
/// its identity (`ledger::identity_key`), for its campaign's dedupe window
/// after its last change: the whole record while it is pending, then only
/// id, status and revision; its messages for the origin until delivered
/// (`outbox`, a JSON array, oldest first, with the first one's attempts);
/// and what it added to the cap counters (`counts`, a JSON array of
/// `ledger::Contribution`), folded into `counters` when it is forgotten.
/// `counters` holds the contributions of conversions no longer remembered
/// (and, for objects written before, the counters as they were).
const TABLES: &str = "
CREATE TABLE IF NOT EXISTS known (
    key             BLOB PRIMARY KEY,
    id              TEXT NOT NULL,
    status          TEXT NOT NULL,
    revision        INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    record          TEXT,
    outbox          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER,
    last_error      TEXT,
    counts          TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// The columns version 1 lacked, and their definitions.
const ADDED_IN_2: [(&str, &str); 5] = [
    ("outbox", "TEXT"),
    ("attempts", "INTEGER NOT NULL DEFAULT 0"),
    ("next_attempt_at", "INTEGER"),
    ("last_error", "TEXT"),
    ("counts", "TEXT"),
];

/// Brings the object's tables to this version, once per object; `now` is
/// Unix seconds. Runs inside the caller's transaction. Whether messages of
/// the version before wait for the origin.
pub fn migrate(sql: &Sql, now: i64) -> Result<bool> {
    if super::super::sql::version(sql)? >= VERSION {
        return Ok(false);
    }
    let mut waiting = false;
    let earlier = sql.has_table("known")? || sql.has_table("conversions")?;
    if sql.has_table("known")? {
        // Version 1: a table of what is known with two indexes, and the
        // outbox a table of its own, moved while the index on ids finds
        // the conversions.
        let columns: Vec<String> = sql
            .all("SELECT name FROM pragma_table_info('known')", vec![])?
            .iter()
            .map(|row| row.text(0))
            .collect::<Result<_>>()?;
        for (name, definition) in ADDED_IN_2 {
            if !columns.iter().any(|c| c == name) {
                sql.run(
                    &format!("ALTER TABLE known ADD COLUMN {name} {definition}"),
                    vec![],
                )?;
            }
        }
        if sql.has_table("outbox")? {
            waiting = move_outbox(sql)?;
            // The version before may have listed the campaign (in the
            // bucket; `GET /v1/outbox` moves it to KV): the run that
            // empties the outbox removes it.
            if waiting {
                set_listed(sql, true)?;
            }
        }
        sql.run("DROP INDEX IF EXISTS known_updated", vec![])?;
        sql.run("DROP INDEX IF EXISTS known_id", vec![])?;
    }
    sql.run(TABLES, vec![])?;
    super::legacy::move_conversions(sql)?;
    if earlier {
        // Conversions made before carry ids without their key: looking one
        // up by id reads the table (`lookup`), for as long as one can be
        // remembered.
        sql.run(
            "INSERT INTO meta (name, value) VALUES ('migrated_at', ?) ON CONFLICT DO NOTHING",
            vec![int(now)?],
        )?;
    }
    super::super::sql::set_version(sql, VERSION)?;
    Ok(waiting)
}

/// Whether the object listed its campaign in KV as having deliveries
/// waiting (`shell/outbox.rs`): kept beside the schema so that an
/// instance that starts knows whether there is a mark to remove without
/// asking KV, and removes none that is not there (a KV delete is billed
/// like a write). One row, written only when the listing changes.
pub fn listed(sql: &Sql) -> Result<bool> {
    Ok(sql
        .first(
            "SELECT value FROM meta WHERE name = 'outbox_listed'",
            vec![],
        )?
        .map(|row| row.int(0))
        .transpose()?
        .is_some_and(|v| v != 0))
}

pub fn set_listed(sql: &Sql, listed: bool) -> Result<()> {
    sql.run(
        "INSERT INTO meta (name, value) VALUES ('outbox_listed', ?)
         ON CONFLICT(name) DO UPDATE SET value = excluded.value",
        vec![int(i64::from(listed))?],
    )?;
    Ok(())
}

/// When the object was migrated from an earlier version, if it was.
pub fn migrated_at(sql: &Sql) -> Result<Option<i64>> {
    sql.first("SELECT value FROM meta WHERE name = 'migrated_at'", vec![])?
        .map(|row| row.int(0))
        .transpose()
}

/// Version 1's outbox table (a row per message, `msg_{conversion}_{revision}`)
/// into the rows of the conversions they are for, oldest first; its
/// attempts and schedule stay the first message's.
fn move_outbox(sql: &Sql) -> Result<bool> {
    // The conversions by id: one read of the table.
    let mut keys: HashMap<String, Vec<u8>> = HashMap::new();
    for row in sql.all("SELECT id, key FROM known", vec![])? {
        keys.insert(row.text(0)?, row.blob(1)?);
    }
    let rows = sql.all(
        "SELECT id, body, created_at, attempts, next_attempt_at, last_error FROM outbox
             ORDER BY created_at, id",
        vec![],
    )?;
    let mut moved: Vec<(Vec<u8>, Delivery)> = Vec::new();
    let mut index: HashMap<Vec<u8>, usize> = HashMap::new();
    for row in rows {
        let message = OutboxMessage {
            id: row.text(0)?,
            body: row.text(1)?,
            created_at: row.int(2)?,
        };
        let key = conversion_of(&message.id)
            .and_then(|c| keys.get(c))
            .cloned();
        let key = match key {
            Some(key) => key,
            // The conversion was forgotten while its message waited: it is
            // remembered again, so that the message is still delivered.
            None => remember_orphan(sql, &message)?,
        };
        match index.get(&key) {
            Some(&i) => moved[i].1.messages.push(message),
            None => {
                index.insert(key.clone(), moved.len());
                moved.push((
                    key,
                    Delivery {
                        messages: vec![message],
                        attempts: u32::try_from(row.int(3)?).unwrap_or(u32::MAX).max(1),
                        next_attempt_at: row.int(4)?,
                        last_error: row.opt_text(5)?,
                    },
                ));
            }
        }
    }
    let waiting = !moved.is_empty();
    for (key, delivery) in moved {
        super::store::write_delivery(sql, &key, Some(&delivery))?;
    }
    sql.run("DROP TABLE outbox", vec![])?;
    Ok(waiting)
}

/// The conversion id of a message id: `msg_{conversion}_{revision}`.
fn conversion_of(message_id: &str) -> Option<&str> {
    let (conversion, _) = message_id.strip_prefix("msg_")?.rsplit_once('_')?;
    Some(conversion)
}

/// A row for the conversion a message carries, when the object no longer
/// remembers it: its id, status and revision from the message, under a key
/// no identity has. The key.
fn remember_orphan(sql: &Sql, message: &OutboxMessage) -> Result<Vec<u8>> {
    let body: serde_json::Value = serde_json::from_str(&message.body).unwrap_or_default();
    let data = &body["data"];
    let key = crate::ledger::identity_key(&format!("message|{}", message.id)).to_vec();
    let id = data["id"]
        .as_str()
        .or_else(|| conversion_of(&message.id))
        .unwrap_or(&message.id)
        .to_owned();
    sql.run(
        "INSERT INTO known (key, id, status, revision, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT DO NOTHING",
        vec![
            key.clone().into(),
            id.into(),
            data["status"].as_str().unwrap_or("pending").into(),
            int(data["revision"].as_i64().unwrap_or(1))?,
            int(message.created_at)?,
        ],
    )?;
    Ok(key)
}
