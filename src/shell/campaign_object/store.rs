//! The ledger's `Store` on the campaign object's tables (`schema`), and
//! what the object keeps in memory beside them ([`Live`]): the cap
//! counters' totals and what waits for the origin, both rebuilt from the
//! table when an instance needs them and cannot know them otherwise.

use crate::ledger::{
    identity_key, Change, Contribution, Conversion, CounterKey, Known, OutboxMessage, Store,
};
use crate::outbox::Delivery;
use crate::shell::sql::{int, transaction, Row, Sql, TransactionalStorage};
use crate::status::Status;
use rust_decimal::Decimal;
use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use worker::{Error, Result, SqlStorageValue};

/// What the object keeps in memory beside its tables. It is the single
/// writer of both, so what it keeps stays true while it lives.
#[derive(Debug, Default)]
pub struct Live {
    /// Each counter's total: the `counters` table's, plus what the
    /// conversions remembered contributed. `None` until read.
    counters: Option<HashMap<CounterKey, Decimal>>,
    /// Conversions with messages waiting, and when the first is due
    /// (milliseconds; parked ones at `outbox::PARKED`). `None` while
    /// conversions an earlier instance left waiting may be in the table
    /// unread.
    due: Option<HashMap<Vec<u8>, i64>>,
    /// What this instance queued while `due` is unread.
    fresh: HashMap<Vec<u8>, i64>,
    /// Conversions whose message is being sent.
    pub in_flight: HashSet<Vec<u8>>,
}

impl Live {
    /// The state of a new instance: whether an earlier one left an alarm
    /// set (and so, maybe, messages waiting).
    pub fn new(alarm_left: bool) -> Live {
        Live {
            due: (!alarm_left).then(HashMap::new),
            ..Live::default()
        }
    }

    /// Reads what memory lacks from the table (every row once): the
    /// counters' totals at `now` (Unix seconds) and what waits.
    pub fn load(&mut self, sql: &Sql, now: i64) -> Result<()> {
        if self.counters.is_some() && self.due.is_some() {
            return Ok(());
        }
        let mut counters = HashMap::new();
        for row in sql.all("SELECT key, value, expires_at FROM counters", vec![])? {
            if row.int(2)? >= now {
                counters.insert(
                    CounterKey::from_stored(row.text(0)?),
                    decimal(&row.text(1)?)?,
                );
            }
        }
        let mut due = HashMap::new();
        let rows = sql.all(
            "SELECT key, next_attempt_at, outbox IS NOT NULL, counts FROM known
                 WHERE outbox IS NOT NULL OR counts IS NOT NULL",
            vec![],
        )?;
        for row in rows {
            let key = row.blob(0)?;
            if row.int(2)? == 1 {
                due.insert(key.clone(), row.opt_int(1)?.unwrap_or(0));
            }
            for c in contributions(row.opt_text(3)?.as_deref())? {
                if c.expires_at >= now {
                    *counters.entry(c.key).or_default() += c.increment;
                }
            }
        }
        if self.counters.is_none() {
            self.counters = Some(counters);
        }
        if self.due.is_none() {
            due.extend(self.fresh.drain());
            self.due = Some(due);
        }
        Ok(())
    }

    /// The conversions whose message is due at `now_ms` and not in
    /// flight, most overdue first, at most `n`: in flight from now on.
    pub fn take_due(&mut self, now_ms: i64, n: usize) -> Vec<Vec<u8>> {
        let Some(due) = &mut self.due else {
            return Vec::new();
        };
        let mut ready: Vec<(i64, &Vec<u8>)> = due
            .iter()
            .filter(|(key, at)| **at <= now_ms && !self.in_flight.contains(*key))
            .map(|(key, at)| (*at, key))
            .collect();
        ready.sort_unstable();
        let keys: Vec<Vec<u8>> = ready.into_iter().take(n).map(|(_, k)| k.clone()).collect();
        for key in &keys {
            due.remove(key);
            self.in_flight.insert(key.clone());
        }
        keys
    }

    /// A conversion's first message is due at `at` (milliseconds).
    pub fn queue(&mut self, at: i64, key: Vec<u8>) {
        match &mut self.due {
            Some(due) => due.insert(key, at),
            None => self.fresh.insert(key, at),
        };
    }

    /// A conversion has nothing left waiting.
    pub fn done(&mut self, key: &[u8]) {
        if let Some(due) = &mut self.due {
            due.remove(key);
        }
        self.fresh.remove(key);
    }

    /// When the next message is due (milliseconds), if one waits that is
    /// not parked.
    pub fn next_due(&self, parked_at: i64) -> Option<i64> {
        self.due
            .iter()
            .flat_map(|due| due.values())
            .chain(self.fresh.values())
            .copied()
            .filter(|at| *at < parked_at)
            .min()
    }

    /// Whether any message waits, parked ones included; `None` while that
    /// is not known without reading the table.
    pub fn any_waiting(&self) -> Option<bool> {
        let due = self.due.as_ref()?;
        Some(!due.is_empty() || !self.fresh.is_empty() || !self.in_flight.is_empty())
    }

    fn add(&mut self, contributions: &[Contribution]) {
        if let Some(counters) = &mut self.counters {
            for c in contributions {
                *counters.entry(c.key.clone()).or_default() += c.increment;
            }
        }
    }
}

fn decimal(text: &str) -> Result<Decimal> {
    Decimal::from_str_exact(text).map_err(|e| Error::RustError(format!("a stored counter: {e}")))
}

/// The contributions a row keeps (`counts`).
fn contributions(counts: Option<&str>) -> Result<Vec<Contribution>> {
    match counts {
        None => Ok(Vec::new()),
        Some(json) => serde_json::from_str(json)
            .map_err(|e| Error::RustError(format!("a conversion's stored counts: {e}"))),
    }
}

/// What a conversion's row held when `decide` read it.
#[derive(Debug, Default)]
struct Seen {
    exists: bool,
    waiting: bool,
    counts: Option<String>,
}

pub struct SqlStore<'a> {
    sql: &'a Sql,
    storage: &'a TransactionalStorage,
    live: &'a RefCell<Live>,
    /// Unix seconds and milliseconds.
    now: i64,
    now_ms: i64,
    seen: RefCell<Seen>,
    /// Whether `counter` found the totals unread and read them.
    loaded: Cell<bool>,
}

impl<'a> SqlStore<'a> {
    pub fn new(
        sql: &'a Sql,
        storage: &'a TransactionalStorage,
        live: &'a RefCell<Live>,
        now_ms: u64,
    ) -> SqlStore<'a> {
        let now_ms = i64::try_from(now_ms).unwrap_or(i64::MAX);
        SqlStore {
            sql,
            storage,
            live,
            now: now_ms / 1000,
            now_ms,
            seen: RefCell::default(),
            loaded: Cell::new(false),
        }
    }
}

impl Store for SqlStore<'_> {
    type Error = Error;

    fn conversion(&self, identity: &str) -> Result<Option<Known>> {
        let row = self.sql.first(
            "SELECT id, status, revision, updated_at, record, outbox, counts
                 FROM known WHERE key = ?",
            vec![identity_key(identity).to_vec().into()],
        )?;
        let Some(row) = row else {
            *self.seen.borrow_mut() = Seen::default();
            return Ok(None);
        };
        *self.seen.borrow_mut() = Seen {
            exists: true,
            waiting: row.opt_text(5)?.is_some(),
            counts: row.opt_text(6)?,
        };
        known_of(&row).map(Some)
    }

    fn counter(&self, key: &CounterKey) -> Result<Decimal> {
        let mut live = self.live.borrow_mut();
        if live.counters.is_none() {
            live.load(self.sql, self.now)?;
            self.loaded.set(true);
        }
        Ok(live
            .counters
            .as_ref()
            .and_then(|c| c.get(key).copied())
            .unwrap_or_default())
    }

    /// The conversion's row in one `transactionSync`: its record, its
    /// message queued, its contributions; then memory.
    fn commit(&mut self, change: &Change) -> Result<()> {
        let seen = std::mem::take(&mut *self.seen.borrow_mut());
        let created = change.previous.is_none();
        let sql = self.sql.clone();
        let row = RowWrite::of(change, self.now_ms)?;
        // A conversion made again past its window replaces the row of the
        // one before: what that one counted moves to `counters`.
        let replaced = (created && seen.exists).then_some(seen.counts).flatten();
        let now = self.now;
        transaction(self.storage, move || {
            if let Some(counts) = replaced {
                fold(&sql, &contributions(Some(&counts))?, now)?;
            }
            row.write(&sql)
        })?;
        let mut live = self.live.borrow_mut();
        live.add(&change.counters);
        if !seen.waiting {
            live.queue(
                self.now_ms,
                identity_key(&change.conversion.identity).to_vec(),
            );
        }
        Ok(())
    }
}

/// What a row keeps of a conversion, read from its first five columns
/// (id, status, revision, updated_at, record).
///
/// A row keeps a pending conversion's record once, never twice: in
/// `record` once its messages are delivered, else in its last message
/// (sixth column, `outbox`), which carries it whole. (A row of more than
/// about a kilobyte spills into a page of its own.)
pub fn known_of(row: &Row) -> Result<Known> {
    if let Some(record) = row.opt_text(4)? {
        let conversion: Conversion = serde_json::from_str(&record)
            .map_err(|e| Error::RustError(format!("a stored conversion: {e}")))?;
        return Ok(Known::Full(Box::new(conversion)));
    }
    let status = Status::parse(&row.text(1)?)
        .ok_or_else(|| Error::RustError("a stored status is unknown".to_owned()))?;
    if status == Status::Pending {
        let messages: Vec<OutboxMessage> = match row.opt_text(5)? {
            Some(outbox) => serde_json::from_str(&outbox)
                .map_err(|e| Error::RustError(format!("a conversion's stored messages: {e}")))?,
            None => Vec::new(),
        };
        if let Some(conversion) = messages.last().map(carried).transpose()? {
            return Ok(Known::Full(Box::new(conversion)));
        }
    }
    Ok(Known::Settled {
        id: row.text(0)?,
        status,
        revision: u32::try_from(row.int(2)?).unwrap_or(u32::MAX),
        updated_at: row.int(3)?,
    })
}

/// The conversion a message carries whole (its `data`).
pub fn carried(message: &OutboxMessage) -> Result<Conversion> {
    #[derive(serde::Deserialize)]
    struct Body {
        data: Conversion,
    }
    serde_json::from_str::<Body>(&message.body)
        .map(|body| body.data)
        .map_err(|e| Error::RustError(format!("a stored message: {e}")))
}

/// One conversion's row as a commit writes it.
struct RowWrite {
    key: Vec<u8>,
    id: String,
    status: &'static str,
    revision: i64,
    updated_at: i64,
    message: String,
    now_ms: i64,
    counts: Option<String>,
    created: bool,
}

impl RowWrite {
    fn of(change: &Change, now_ms: i64) -> Result<RowWrite> {
        let c = &change.conversion;
        let json = |e: serde_json::Error| Error::RustError(e.to_string());
        let counts = (!change.counters.is_empty())
            .then(|| serde_json::to_string(&change.counters))
            .transpose()
            .map_err(json)?;
        Ok(RowWrite {
            key: identity_key(&c.identity).to_vec(),
            id: c.id.clone(),
            status: c.status.as_str(),
            revision: i64::from(c.revision),
            updated_at: c.updated_at,
            message: serde_json::to_string(&change.outbox).map_err(json)?,
            now_ms,
            counts,
            created: change.previous.is_none(),
        })
    }

    fn write(self, sql: &Sql) -> Result<()> {
        sql.run(
            "INSERT INTO known (key, id, status, revision, updated_at, record, outbox, attempts,
                                next_attempt_at, last_error, counts)
             VALUES (?1, ?2, ?3, ?4, ?5, NULL, json_array(json(?7)), 1, ?8, NULL, ?9)
             ON CONFLICT(key) DO UPDATE SET
               id = excluded.id, status = excluded.status, revision = excluded.revision,
               updated_at = excluded.updated_at, record = NULL,
               outbox = CASE WHEN known.outbox IS NULL THEN excluded.outbox
                             ELSE json_insert(known.outbox, '$[#]', json(?7)) END,
               attempts = CASE WHEN known.outbox IS NULL THEN 1 ELSE known.attempts END,
               next_attempt_at = CASE WHEN known.outbox IS NULL THEN excluded.next_attempt_at
                                      ELSE known.next_attempt_at END,
               last_error = CASE WHEN known.outbox IS NULL THEN NULL ELSE known.last_error END,
               counts = CASE WHEN ?10 THEN excluded.counts ELSE known.counts END",
            vec![
                self.key.into(),
                self.id.into(),
                self.status.into(),
                int(self.revision)?,
                int(self.updated_at)?,
                SqlStorageValue::Null,
                self.message.into(),
                int(self.now_ms)?,
                self.counts.into(),
                // A boolean binding reaches SQLite as text: bind 0 or 1.
                SqlStorageValue::Integer(i64::from(self.created)),
            ],
        )?;
        Ok(())
    }
}

/// Adds `contributions` still counting at `now` to the `counters` table.
pub fn fold(sql: &Sql, contributions: &[Contribution], now: i64) -> Result<()> {
    let mut sums: HashMap<&CounterKey, (Decimal, i64)> = HashMap::new();
    for c in contributions.iter().filter(|c| c.expires_at >= now) {
        let sum = sums.entry(&c.key).or_insert((Decimal::ZERO, c.expires_at));
        sum.0 += c.increment;
    }
    for (key, (increment, expires_at)) in sums {
        let stored = sql
            .first(
                "SELECT value FROM counters WHERE key = ?",
                vec![key.as_str().into()],
            )?
            .map(|row| row.text(0))
            .transpose()?;
        let value = stored.as_deref().map_or(Ok(Decimal::ZERO), decimal)? + increment;
        sql.run(
            "INSERT INTO counters (key, value, expires_at) VALUES (?, ?, ?)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            vec![
                key.as_str().into(),
                value.to_string().into(),
                int(expires_at)?,
            ],
        )?;
    }
    Ok(())
}

/// A conversion's delivery state, as its row keeps it, and whether the
/// conversion is pending.
pub fn read_delivery(sql: &Sql, key: &[u8]) -> Result<Option<(Delivery, bool)>> {
    let row = sql.first(
        "SELECT outbox, attempts, next_attempt_at, last_error, status FROM known WHERE key = ?",
        vec![key.to_vec().into()],
    )?;
    let Some(row) = row else {
        return Ok(None);
    };
    let pending = row.text(4)? == Status::Pending.as_str();
    Ok(delivery_of(&row, 0)?.map(|d| (d, pending)))
}

/// The delivery state in a row's columns from `at` on (outbox, attempts,
/// next attempt, last error).
pub fn delivery_of(row: &Row, at: usize) -> Result<Option<Delivery>> {
    let Some(outbox) = row.opt_text(at)? else {
        return Ok(None);
    };
    let messages = serde_json::from_str(&outbox)
        .map_err(|e| Error::RustError(format!("a conversion's stored messages: {e}")))?;
    Ok(Some(Delivery {
        messages,
        attempts: u32::try_from(row.int(at + 1)?).unwrap_or(u32::MAX),
        next_attempt_at: row.opt_int(at + 2)?.unwrap_or(0),
        last_error: row.opt_text(at + 3)?,
    }))
}

/// Writes a conversion's delivery state (`None`: everything delivered).
pub fn write_delivery(sql: &Sql, key: &[u8], delivery: Option<&Delivery>) -> Result<()> {
    write_row_delivery(sql, key, delivery, None)
}

/// Writes what a delivery leaves in a conversion's row: the state, and for
/// a pending conversion whose messages are all delivered, its `record`
/// (until then its last message held it).
pub fn write_row_delivery(
    sql: &Sql,
    key: &[u8],
    delivery: Option<&Delivery>,
    record: Option<String>,
) -> Result<()> {
    let mut bindings = match delivery {
        None => vec![
            SqlStorageValue::Null,
            SqlStorageValue::Integer(0),
            SqlStorageValue::Null,
            SqlStorageValue::Null,
        ],
        Some(d) => vec![
            serde_json::to_string(&d.messages)
                .map_err(|e| Error::RustError(e.to_string()))?
                .into(),
            SqlStorageValue::Integer(i64::from(d.attempts)),
            int(d.next_attempt_at)?,
            d.last_error.clone().into(),
        ],
    };
    bindings.push(record.into());
    bindings.push(key.to_vec().into());
    sql.run(
        "UPDATE known SET outbox = ?, attempts = ?, next_attempt_at = ?, last_error = ?,
                          record = COALESCE(?, record)
         WHERE key = ?",
        bindings,
    )?;
    Ok(())
}
