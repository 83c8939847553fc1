//! Delivering the outbox to `POST $ORIGIN_URL/conversions` from the
//! object's alarm.
//!
//! Alarms are at-least-once, so an attempt is counted (and the next one
//! scheduled) in storage before the message is sent: a crash mid-send
//! neither loses the message nor retries it at once. A 2xx deletes the row;
//! anything else records the error and leaves the row for its next attempt.
//! Rows retried for three days are parked: kept and shown, not retried.

use crate::outbox::{self, WebhookKey, DEFAULT_BASE_DELAY_MS, DEFAULT_TIMEOUT_MS, RETRY_FOR_MS};
use crate::shell::join::join_all;
use serde::{Deserialize, Serialize};
use std::cell::Cell;
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_error, js_sys, web_sys, Env, Result, SqlStorage, SqlStorageValue, State};

use crate::shell::platform::{error_text, now_millis, random_unit};

/// `next_attempt_at` of a parked row: far past any real time, inside the
/// integers JavaScript represents exactly.
pub const PARKED: i64 = 9_000_000_000_000_000;
/// Messages sent per alarm run; the rest wait for the next run, at once.
const BATCH: i64 = 25;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, bound directly (the `worker` crate's `Fetch`
    /// brings its request, response and body-stream types along). What
    /// it throws comes back as an error.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_request(request: &web_sys::Request) -> std::result::Result<js_sys::Promise, JsValue>;

    /// The global `setTimeout(f, ms)`: the timer's id.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: f64) -> JsValue;

    /// The global `clearTimeout(id)`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

struct DueRow {
    id: String,
    body: String,
    created_at: i64,
    attempts: i64,
}

/// Where and how to deliver, from the environment.
struct Delivery {
    url: Option<String>,
    key: std::result::Result<WebhookKey, String>,
    timeout_ms: u64,
    base_ms: u64,
    /// How long a message is retried before it is parked.
    retry_for_ms: u64,
}

impl Delivery {
    fn from_env(env: &Env) -> Delivery {
        let var = |name: &str| {
            env.var(name)
                .ok()
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty())
        };
        let number =
            |name: &str, default: u64| var(name).and_then(|v| v.parse().ok()).unwrap_or(default);
        Delivery {
            url: var("ORIGIN_URL").map(|u| format!("{}/conversions", u.trim_end_matches('/'))),
            key: env
                .secret("ORIGIN_SECRET")
                .map_err(|_| "ORIGIN_SECRET is not set".to_owned())
                .and_then(|s| WebhookKey::from_secret(&s.to_string())),
            timeout_ms: number("ORIGIN_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
            base_ms: number("OUTBOX_RETRY_BASE_MS", DEFAULT_BASE_DELAY_MS),
            retry_for_ms: number("OUTBOX_RETRY_FOR_MS", RETRY_FOR_MS),
        }
    }

    /// Sends one message; `signal` aborts it once the run's time is up.
    async fn send(
        &self,
        row: &DueRow,
        signal: &web_sys::AbortSignal,
    ) -> std::result::Result<(), String> {
        let url = self.url.as_deref().ok_or("ORIGIN_URL is not set")?;
        let key = self.key.as_ref().map_err(Clone::clone)?;
        let timestamp = (now_millis() / 1000) as i64;
        let headers = web_sys::Headers::new().map_err(|e| error_text(&e))?;
        let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| error_text(&e));
        set("content-type", "application/json")?;
        set("webhook-id", &row.id)?;
        set("webhook-timestamp", &timestamp.to_string())?;
        set(
            "webhook-signature",
            &key.sign(&row.id, timestamp, &row.body),
        )?;
        set("idempotency-key", &row.id)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&row.body));
        init.set_signal(Some(signal));
        let request = web_sys::Request::new_with_str_and_init(url, &init)
            .map_err(|e| format!("bad origin request: {}", error_text(&e)))?;
        let answered = match fetch_request(&request) {
            Ok(sent) => JsFuture::from(sent).await,
            Err(thrown) => Err(thrown),
        };
        let response: web_sys::Response = answered
            .map_err(|e| format!("origin unreachable or timed out: {}", error_text(&e)))?
            .unchecked_into();
        let status = response.status();
        // Drain the body so the connection is released.
        if let Ok(text) = response.text() {
            let _ = JsFuture::from(text).await;
        }
        if outbox::delivered(status) {
            Ok(())
        } else {
            Err(format!("origin answered HTTP {status}"))
        }
    }
}

/// An `AbortSignal` that aborts after a time, unless cleared first.
struct Deadline {
    signal: web_sys::AbortSignal,
    timer: JsValue,
}

impl Deadline {
    fn start(ms: u64) -> Result<Deadline> {
        let controller = web_sys::AbortController::new()?;
        let abort: js_sys::Function =
            js_sys::Reflect::get(&controller, &JsValue::from_str("abort"))?.unchecked_into();
        Ok(Deadline {
            signal: controller.signal(),
            timer: set_timeout(&abort.bind0(&controller), ms as f64),
        })
    }

    fn clear(self) {
        clear_timeout(&self.timer);
    }
}

/// Sends what is due, then sets the alarm for what is left. `marked`: what
/// this object last told the bucket of its outbox (`None` since it
/// started): marked once a delivery fails, unmarked once nothing is left,
/// so `GET /v1/outbox` finds it without asking every campaign.
pub async fn deliver_due(state: &State, env: &Env, marked: &Cell<Option<bool>>) -> Result<()> {
    let sql = state.storage().sql();
    let delivery = Delivery::from_env(env);
    let now = now_millis();
    // Counters of periods that have ended are never read again.
    sql.exec(
        "DELETE FROM counters WHERE expires_at < ?",
        vec![SqlStorageValue::try_from_i64((now / 1000) as i64)?],
    )?;
    let due = super::rows::all(sql.exec(
        "SELECT id, body, created_at, attempts FROM outbox
             WHERE next_attempt_at <= ? ORDER BY next_attempt_at LIMIT ?",
        vec![
            SqlStorageValue::try_from_i64(now as i64)?,
            SqlStorageValue::Integer(BATCH),
        ],
    )?)?
    .iter()
    .map(|row| {
        Ok(DueRow {
            id: row.text(0)?,
            body: row.text(1)?,
            created_at: row.int(2)?,
            attempts: row.int(3)?,
        })
    })
    .collect::<Result<Vec<_>>>()?;

    // Count each attempt and schedule the next one before sending. While a
    // message is in flight its next attempt is at least a timeout away, so
    // an overlapping run does not send it twice.
    for row in &due {
        let attempt = u32::try_from(row.attempts)
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let created_ms = u64::try_from(row.created_at)
            .unwrap_or(0)
            .saturating_mul(1000);
        let next = outbox::next_attempt_at(
            created_ms,
            attempt,
            now,
            delivery.base_ms,
            delivery.retry_for_ms,
            random_unit(),
        )
        .map_or(PARKED, |t| t.max(now + delivery.timeout_ms + 1_000) as i64);
        sql.exec(
            "UPDATE outbox SET attempts = ?, next_attempt_at = ? WHERE id = ?",
            vec![
                SqlStorageValue::Integer(i64::from(attempt)),
                SqlStorageValue::try_from_i64(next)?,
                row.id.as_str().into(),
            ],
        )?;
    }

    // One deadline for the run's messages, all sent at once: a timer that
    // aborts those still waiting, cleared once they are answered. (A timer
    // per message, as `AbortSignal.timeout` makes, stays counted against
    // the object's 10,000 active timers long after its message is
    // answered: deliveries stopped after ten thousand.)
    let deadline = Deadline::start(delivery.timeout_ms)?;
    let results = join_all(due.iter().map(|row| delivery.send(row, &deadline.signal))).await;
    deadline.clear();
    let mut failed = 0;
    for (row, result) in due.iter().zip(results) {
        match result {
            Ok(()) => {
                sql.exec(
                    "DELETE FROM outbox WHERE id = ?",
                    vec![row.id.as_str().into()],
                )?;
            }
            Err(error) => {
                // One console line per run, not per message: with the
                // origin down, a line per message floods the log.
                if failed == 0 {
                    console_error!("outbox {}: {error}", row.id);
                }
                failed += 1;
                sql.exec(
                    "UPDATE outbox SET last_error = ? WHERE id = ?",
                    vec![error.into(), row.id.as_str().into()],
                )?;
            }
        }
    }
    if failed > 1 {
        console_error!(
            "outbox: {failed} of {} deliveries failed in this run",
            due.len()
        );
    }

    let left = super::rows::first(sql.exec("SELECT 1 FROM outbox LIMIT 1", None)?)?.is_some();
    let waiting = outbox::listed_after_run(failed > 0, left);
    if let (Some(waiting), Some(name)) = (waiting, state.id().name()) {
        if marked.get() != Some(waiting) {
            // A failed mark is tried again after the next run; nothing
            // is lost meanwhile, the outbox only goes unlisted.
            match super::super::log_bucket::mark_outbox(env, &name, waiting).await {
                Ok(()) => marked.set(Some(waiting)),
                Err(e) => console_error!("marking the outbox of {name}: {e}"),
            }
        }
    }

    let next = super::rows::first(sql.exec(
        "SELECT MIN(next_attempt_at) AS next FROM outbox WHERE next_attempt_at < ?",
        vec![SqlStorageValue::try_from_i64(PARKED)?],
    )?)?;
    if let Some(at) = next.map(|row| row.opt_int(0)).transpose()?.flatten() {
        let delay = (at - now_millis() as i64).max(0);
        state.storage().set_alarm(delay).await?;
    }
    Ok(())
}

/// Brings every parked message back: each is tried once more at once
/// (and parked again if that fails, its retry window being over). How
/// many came back.
pub fn requeue_parked(sql: &SqlStorage, now_ms: u64) -> Result<u64> {
    // Counted by the rows returned: `rowsWritten` counts index writes too.
    let requeued = super::rows::all(sql.exec(
        "UPDATE outbox SET next_attempt_at = ? WHERE next_attempt_at >= ? RETURNING id",
        vec![
            SqlStorageValue::try_from_i64(i64::try_from(now_ms).unwrap_or(i64::MAX))?,
            SqlStorageValue::try_from_i64(PARKED)?,
        ],
    )?)?;
    Ok(requeued.len() as u64)
}

/// Whether any row waits for delivery (parked rows do not).
pub fn has_waiting(sql: &SqlStorage) -> Result<bool> {
    let row = super::rows::first(sql.exec(
        "SELECT 1 FROM outbox WHERE next_attempt_at < ? LIMIT 1",
        vec![SqlStorageValue::try_from_i64(PARKED)?],
    )?)?;
    Ok(row.is_some())
}

/// What waits in this object's outbox.
#[derive(Debug, Serialize, Deserialize, Default)]
pub struct OutboxStatus {
    pub waiting: u64,
    pub parked: u64,
    /// Unix seconds of the oldest waiting message.
    pub oldest_created_at: Option<i64>,
    pub next_attempt_at: Option<String>,
    pub max_attempts: u64,
    pub last_error: Option<String>,
}

pub fn status(sql: &SqlStorage) -> Result<OutboxStatus> {
    let parked = SqlStorageValue::try_from_i64(PARKED)?;
    let row = super::rows::first(sql.exec(
        "SELECT COUNT(*) AS waiting,
                    SUM(CASE WHEN next_attempt_at >= ?1 THEN 1 ELSE 0 END) AS parked,
                    MIN(created_at) AS oldest,
                    MIN(CASE WHEN next_attempt_at < ?1 THEN next_attempt_at END) AS next,
                    MAX(attempts) AS max_attempts
             FROM outbox",
        vec![parked],
    )?)?;
    let error = super::rows::first(sql.exec(
        "SELECT last_error FROM outbox WHERE last_error IS NOT NULL ORDER BY created_at DESC LIMIT 1",
        None,
    )?)?;
    let Some(row) = row else {
        return Ok(OutboxStatus::default());
    };
    let count =
        |index| -> Result<u64> { Ok(u64::try_from(row.opt_int(index)?.unwrap_or(0)).unwrap_or(0)) };
    Ok(OutboxStatus {
        waiting: count(0)?,
        parked: count(1)?,
        oldest_created_at: row.opt_int(2)?,
        next_attempt_at: row
            .opt_int(3)?
            .map(|t| crate::log::format_millis(u64::try_from(t).unwrap_or(0))),
        max_attempts: count(4)?,
        last_error: error.map(|e| e.opt_text(0)).transpose()?.flatten(),
    })
}
