//! The campaign Durable Object: one per campaign, named by its id, the
//! single writer of that campaign's conversions, cap counters and outbox,
//! on SQLite storage (`schema`). Everything it keeps is bounded:
//! conversions for their dedupe window, counters for their period,
//! messages until the origin has them.
//!
//! A postback's read, decision and write run with no `await` between them
//! (SQL calls are synchronous), so no other postback for the campaign can
//! interleave: that is what makes caps exact.
//!
//! Its methods, which the edge calls over RPC (`shell/object_client.rs`;
//! `js/entry.mjs` forwards each from the class the runtime knows), each
//! take and answer JSON of a core type: `submit` a `Submission` → its
//! `Verdict`; `outboxStatus` → an `OutboxStatus`; `outboxRetry` → how many
//! parked messages came back; `conversion` an id → a `ConversionView` or
//! `null`; `stats` → `ObjectStats`; `legacyLog` → the entries an earlier
//! version's unattributed log kept here. And the alarm, which delivers.
//! The object has no fetch handler and is not reachable from outside.

mod delivery;
mod legacy;
mod lookup;
mod schema;
mod store;

use super::sql::{int, transaction, transactional, Meter, Sql, TransactionalStorage};
use crate::ledger::{self, Decision, Submission, Sweep, FORGET_BATCH};
use crate::lookup::ObjectStats;
use crate::outbox::{OutboxStatus, PARKED};
use serde::de::DeserializeOwned;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use store::{Live, SqlStore};
use wasm_bindgen::prelude::*;
use worker::js_sys;
use worker::{console_error, Env, Result, State};

use super::error::Failure;
use super::platform::now_millis;

/// How long after a commit the alarm that delivers it runs, unless
/// `DELIVERY_DELAY_MS` says otherwise: the conversions committed meanwhile
/// go in the same run (one alarm set — a row written — and one alarm run —
/// a Durable Object request — for all of them). A campaign with a
/// conversion every few seconds shares most alarms at 5 s, where at 1 s
/// each conversion sets its own (docs/COST.md).
const DELIVERY_DELAY_MS: u64 = 5_000;
/// The longest delay `DELIVERY_DELAY_MS` may set.
const MAX_DELIVERY_DELAY_MS: u64 = 60_000;
/// The database size past which an object forgets its oldest conversions
/// even inside their window, so that conversions never take it to the
/// platform's 10 GB (where every write, postbacks included, would fail): a
/// campaign hot enough for its window not to fit remembers as much of it
/// as fits (docs/SCALING.md). Only an outbox the origin does not take can
/// fill it; messages are never dropped.
const STORAGE_SOFT_LIMIT: u64 = 8 << 30;
/// How long a conversion made before its id carried its key can be looked
/// up by id after its object was migrated: the longest dedupe window.
const LEGACY_IDS_FOR: i64 = 730 * 86_400;

/// The object, as `js/entry.mjs` constructs it inside the class the runtime
/// knows (only a class that extends `DurableObject` can be called over
/// RPC): its methods are the ones that class forwards.
#[wasm_bindgen]
pub struct CampaignObject {
    state: State,
    env: Env,
    sql: Sql,
    storage: TransactionalStorage,
    /// What memory keeps beside the tables (`store::Live`).
    live: RefCell<Live>,
    /// Whether this instance's first call made the object ready.
    started: Cell<bool>,
    /// When the alarm set last fires (milliseconds), if it has not yet.
    alarm_at: Cell<Option<u64>>,
    sweep: Cell<Sweep>,
    /// When the object next forgets conversions past their window.
    forget_at: Cell<u64>,
    /// Whether it is past [`STORAGE_SOFT_LIMIT`], forgetting its oldest
    /// conversions before their window ends.
    forgetting_early: Cell<bool>,
    /// What this object last said of its outbox in the list of outboxes
    /// with deliveries waiting (`None` until read from `meta`).
    outbox_marked: Cell<Option<bool>>,
    /// How long after a commit its delivery runs (`DELIVERY_DELAY_MS`).
    delivery_delay_ms: u64,
}

#[wasm_bindgen(wasm_bindgen_futures = worker::wasm_bindgen_futures)]
impl CampaignObject {
    #[wasm_bindgen(constructor)]
    pub fn new(state: worker::worker_sys::DurableObjectState, env: Env) -> CampaignObject {
        let delivery_delay_ms = delivery_delay_ms(&env);
        let state = State::from(state);
        let sql = Sql::new(state.storage().sql(), Rc::new(Meter::default()));
        let storage = transactional(&state);
        CampaignObject {
            state,
            env,
            sql,
            storage,
            live: RefCell::new(Live::default()),
            started: Cell::new(false),
            alarm_at: Cell::new(None),
            sweep: Cell::new(Sweep::starting_at(now_millis())),
            forget_at: Cell::new(0),
            forgetting_early: Cell::new(false),
            outbox_marked: Cell::new(None),
            delivery_delay_ms,
        }
    }

    /// Decides a postback: `submission` is a `Submission` as JSON; its
    /// `Verdict` as JSON. A dry run writes nothing.
    pub async fn submit(&self, submission: String) -> std::result::Result<String, JsValue> {
        self.ready(false).await.map_err(to_js_error)?;
        let submission: Submission = from_json(&submission).map_err(to_js_error)?;
        self.decide(submission).await.map_err(to_js_error)
    }

    /// What waits for the origin: an `OutboxStatus` as JSON.
    #[wasm_bindgen(js_name = outboxStatus)]
    pub async fn outbox_status(&self) -> std::result::Result<String, JsValue> {
        if self.never_written().map_err(to_js_error)? {
            return to_json(&OutboxStatus::default()).map_err(to_js_error);
        }
        self.ready(false).await.map_err(to_js_error)?;
        let waiting = delivery::waiting(&self.sql).map_err(to_js_error)?;
        to_json(&OutboxStatus::of(&waiting)).map_err(to_js_error)
    }

    /// Brings parked messages back into delivery; how many, as JSON.
    #[wasm_bindgen(js_name = outboxRetry)]
    pub async fn outbox_retry(&self) -> std::result::Result<String, JsValue> {
        if self.never_written().map_err(to_js_error)? {
            return to_json(&0).map_err(to_js_error);
        }
        self.ready(false).await.map_err(to_js_error)?;
        let now = now_millis();
        let requeued = delivery::requeue_parked(&self.sql, &self.live, now).map_err(to_js_error)?;
        if requeued > 0 {
            self.wake(now).await;
        }
        to_json(&requeued).map_err(to_js_error)
    }

    /// The conversion `id` as the object knows it: a `ConversionView` as
    /// JSON, or `null`.
    pub async fn conversion(&self, id: String) -> std::result::Result<String, JsValue> {
        if self.never_written().map_err(to_js_error)? {
            return Ok("null".to_owned());
        }
        self.ready(false).await.map_err(to_js_error)?;
        let now = i64::try_from(now_millis() / 1000).unwrap_or(i64::MAX);
        let legacy_ids = schema::migrated_at(&self.sql)
            .map_err(to_js_error)?
            .is_some_and(|at| now < at.saturating_add(LEGACY_IDS_FOR));
        let view = lookup::conversion(&self.sql, &id, legacy_ids).map_err(to_js_error)?;
        to_json(&view).map_err(to_js_error)
    }

    /// What the object holds and has cost since it started: `ObjectStats`
    /// as JSON.
    pub async fn stats(&self) -> std::result::Result<String, JsValue> {
        let stats = if self.never_written().map_err(to_js_error)? {
            ObjectStats::default()
        } else {
            self.ready(false).await.map_err(to_js_error)?;
            lookup::holdings(&self.sql).map_err(to_js_error)?
        };
        let meter = self.sql.meter();
        to_json(&ObjectStats {
            rows_read: meter.rows_read.get(),
            rows_written: meter.rows_written.get(),
            alarms_set: meter.alarms_set.get(),
            ..stats
        })
        .map_err(to_js_error)
    }

    /// The entries the version before kept in this object when it was the
    /// log of postbacks that named no valid campaign (`~unattributed`),
    /// taken out of it: JSON, an array of entries. Touches nothing else.
    #[wasm_bindgen(js_name = legacyLog)]
    pub async fn legacy_log(&self) -> std::result::Result<String, JsValue> {
        let entries = legacy::take_unattributed(&self.sql).map_err(to_js_error)?;
        to_json(&entries).map_err(to_js_error)
    }

    /// The alarm: delivers what is due, and moves an earlier version's log
    /// a batch at a time.
    pub async fn alarm(&self) -> std::result::Result<(), JsValue> {
        self.alarm_at.set(None);
        self.ready(true).await.map_err(to_js_error)?;
        let now = i64::try_from(now_millis() / 1000).unwrap_or(i64::MAX);
        self.live
            .borrow_mut()
            .load(&self.sql, now)
            .map_err(to_js_error)?;
        let origin = delivery::Origin::from_env(&self.env);
        let run = delivery::deliver_due(&self.sql, &self.live, &origin)
            .await
            .map_err(to_js_error)?;
        self.mark_outbox(crate::outbox::listed_after_run(run.failed, run.left))
            .await;
        let mut next = self
            .live
            .borrow()
            .next_due(PARKED)
            .map(|at| u64::try_from(at).unwrap_or(0));
        if legacy::has_log(&self.sql).map_err(to_js_error)? {
            let more = legacy::move_log(&self.sql, &self.env)
                .await
                .map_err(to_js_error)?;
            if more {
                let soon = now_millis() + 1_000;
                next = Some(next.map_or(soon, |n| n.min(soon)));
            }
        }
        if let Some(at) = next {
            self.wake(at).await;
        }
        Ok(())
    }
}

/// `DELIVERY_DELAY_MS` when it is a number of milliseconds up to a minute;
/// otherwise the default, said on the console.
fn delivery_delay_ms(env: &Env) -> u64 {
    let Ok(text) = env.var("DELIVERY_DELAY_MS").map(|v| v.to_string()) else {
        return DELIVERY_DELAY_MS;
    };
    match text.trim().parse::<u64>() {
        Ok(ms) if ms <= MAX_DELIVERY_DELAY_MS => ms,
        _ if text.trim().is_empty() => DELIVERY_DELAY_MS,
        _ => {
            console_error!(
                "DELIVERY_DELAY_MS is not a number of milliseconds from 0 to {MAX_DELIVERY_DELAY_MS}: {DELIVERY_DELAY_MS} is used"
            );
            DELIVERY_DELAY_MS
        }
    }
}

fn to_js_error(error: worker::Error) -> JsValue {
    js_sys::Error::new(&error.to_string()).into()
}

impl CampaignObject {
    /// Whether no version ever wrote this object: the object of an id that
    /// only an operator's read named (stats, a lookup, the outbox). Such a
    /// read answers empty and writes nothing, so that it leaves no storage
    /// behind: a typo in an admin URL costs no object.
    fn never_written(&self) -> Result<bool> {
        if self.started.get() {
            return Ok(false);
        }
        // Any table of ours, whichever version made it (the platform's own
        // are named `_cf_…`).
        let tables = self.sql.first(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND substr(name, 1, 4) <> '_cf_'",
            Vec::new(),
        )?;
        Ok(tables.map(|row| row.int(0)).transpose()?.unwrap_or(0) == 0)
    }

    /// Before any method, once per instance: the schema brought to this
    /// version, and what memory starts from — whether an earlier instance
    /// left an alarm set (`from_alarm`: this is it), and so maybe messages
    /// waiting; if so, or if an earlier version's log is still here, the
    /// alarm again.
    async fn ready(&self, from_alarm: bool) -> Result<()> {
        if self.started.get() {
            return Ok(());
        }
        let sql = self.sql.clone();
        let now = i64::try_from(now_millis() / 1000).unwrap_or(i64::MAX);
        let moved = Rc::new(Cell::new(false));
        let waiting = moved.clone();
        transaction(&self.storage, move || {
            waiting.set(schema::migrate(&sql, now)?);
            Ok(())
        })?;
        let alarm_left =
            from_alarm || moved.get() || self.state.storage().get_alarm().await?.is_some();
        if self.started.replace(true) {
            // Another call made it ready while this one waited.
            return Ok(());
        }
        *self.live.borrow_mut() = Live::new(alarm_left);
        if !from_alarm && (moved.get() || legacy::has_log(&self.sql)?) {
            self.wake(now_millis()).await;
        }
        Ok(())
    }

    async fn decide(&self, submission: Submission) -> Result<String> {
        // From here to the commit: no await.
        let now_ms = now_millis();
        let now = i64::try_from(now_ms / 1000).unwrap_or(i64::MAX);
        let mut store = SqlStore::new(&self.sql, &self.storage, &self.live, now_ms);
        let decision = ledger::decide(&store, &submission, now)?;
        let committed = match (&decision, submission.dry_run) {
            (Decision::Accept(change), false) => {
                ledger::Store::commit(&mut store, change)?;
                true
            }
            _ => false,
        };
        if now_ms >= self.forget_at.get() {
            let remembered = ledger::remembered_since(now, submission.dedupe_window_days);
            self.forget_past_window(now_ms, remembered, submission.campaign_id.as_str());
        }
        if committed {
            self.wake(now_ms + self.delivery_delay_ms).await;
        }
        to_json(&decision.verdict())
    }

    /// Identities past the window are forgotten already (`decide` treats
    /// them as new); their rows go here, a slice of the key space at a time
    /// (`ledger::Sweep`). `remembered`: the window's start (Unix seconds).
    fn forget_past_window(&self, now_ms: u64, remembered: i64, campaign_id: &str) {
        let early = self.sql.database_size() > STORAGE_SOFT_LIMIT;
        let (forgot, last) = forget(
            &self.sql,
            &self.storage,
            self.sweep.get(),
            remembered,
            early,
        )
        .unwrap_or_else(|e| {
            console_error!("forgetting old conversions of {campaign_id}: {e}");
            (0, None)
        });
        // Said when it starts, not on every batch.
        if early && !self.forgetting_early.get() {
            console_error!("campaign {campaign_id}: its object passed {STORAGE_SOFT_LIMIT} bytes, and forgets its oldest conversions before their dedupe window ends");
        }
        self.forgetting_early.set(early);
        let mut sweep = self.sweep.get();
        let wait = sweep.after_batch(forgot, last, early);
        self.sweep.set(sweep);
        self.forget_at.set(now_ms.saturating_add(wait));
    }

    /// Asks for the alarm at `at` (milliseconds), unless one is set for no
    /// later. A failure here loses nothing: the rows are stored, and the
    /// next commit or restart asks again.
    async fn wake(&self, at: u64) {
        if self.alarm_at.get().is_some_and(|set| set <= at) {
            return;
        }
        let at_ms = i64::try_from(at).unwrap_or(i64::MAX);
        match self
            .state
            .storage()
            .set_alarm(worker::ScheduledTime::new(js_sys::Date::new(
                &JsValue::from_f64(at_ms as f64),
            )))
            .await
        {
            Ok(()) => {
                self.alarm_at.set(Some(at));
                let meter = self.sql.meter();
                meter.alarms_set.set(meter.alarms_set.get() + 1);
            }
            Err(e) => console_error!("setting the outbox alarm: {e}"),
        }
    }

    /// Tells the list of outboxes with deliveries waiting (KV) whether this
    /// object's is in it, when that changes (`None`: leave it as it is).
    async fn mark_outbox(&self, waiting: Option<bool>) {
        let (Some(waiting), Some(name)) = (waiting, self.state.id().name()) else {
            return;
        };
        let listed = match self.outbox_marked.get() {
            Some(listed) => Some(listed),
            None => schema::listed(&self.sql)
                .map_err(|e| console_error!("campaign {name}: reading its outbox listing: {e}"))
                .ok(),
        };
        if listed == Some(waiting) {
            self.outbox_marked.set(listed);
            return;
        }
        match super::outbox::mark(&self.env, &name, waiting).await {
            Ok(()) => {
                if let Err(e) = schema::set_listed(&self.sql, waiting) {
                    console_error!("campaign {name}: keeping its outbox listing: {e}");
                }
                self.outbox_marked.set(Some(waiting));
            }
            Err(e) => delivery::mark_failed(&name, e),
        }
    }
}

/// Deletes, in one transaction, the rows in the sweep's range whose last
/// change is older than `remembered` (Unix seconds) — or, `early`, the
/// range's oldest whatever their age — never one with a message waiting,
/// at most [`FORGET_BATCH`], in key order; what they counted moves to
/// `counters`. How many went, and the first two bytes of the last.
fn forget(
    sql: &Sql,
    storage: &TransactionalStorage,
    sweep: Sweep,
    remembered: i64,
    early: bool,
) -> Result<(i64, Option<[u8; 2]>)> {
    let (lo, hi) = sweep.range();
    let oldest_allowed = if early { i64::MAX } else { remembered };
    let order = if early { "updated_at" } else { "key" };
    let outcome = Rc::new(Cell::new((0, None)));
    let (sql, counted) = (sql.clone(), outcome.clone());
    let now = i64::try_from(now_millis() / 1000).unwrap_or(i64::MAX);
    transaction(storage, move || {
        let deleted = sql.all(
            &format!(
                "DELETE FROM known WHERE key IN (
                     SELECT key FROM known
                     WHERE key >= ?1 AND (?2 IS NULL OR key < ?2) AND updated_at < ?3
                       AND outbox IS NULL
                     ORDER BY {order} LIMIT ?4)
                 RETURNING key, counts"
            ),
            vec![
                lo.into(),
                hi.into(),
                int(oldest_allowed.min(9_007_199_254_740_991))?,
                int(FORGET_BATCH)?,
            ],
        )?;
        let mut contributions = Vec::new();
        let mut last: Option<[u8; 2]> = None;
        for row in &deleted {
            let key = row.blob(0)?;
            if let [a, b, ..] = key[..] {
                last = last.max(Some([a, b]));
            }
            if let Some(counts) = row.opt_text(1)? {
                contributions.extend(
                    serde_json::from_str::<Vec<ledger::Contribution>>(&counts)
                        .map_err(|e| Failure::new("a conversion's stored counts", e))?,
                );
            }
        }
        store::fold(&sql, &contributions, now)?;
        sql.run("DELETE FROM counters WHERE expires_at < ?", vec![int(now)?])?;
        counted.set((deleted.len() as i64, last));
        Ok(())
    })?;
    Ok(outcome.get())
}

/// A method's argument from JSON the edge wrote.
fn from_json<T: DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json)
        .map_err(|e| worker::Error::RustError(format!("bad JSON from the edge: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| worker::Error::RustError(e.to_string()))
}
