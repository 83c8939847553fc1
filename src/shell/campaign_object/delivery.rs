//! Delivering the outbox to `POST $ORIGIN_URL/conversions` from the
//! object's alarm.
//!
//! What waits is known in memory (`store::Live`); a conversion's row keeps
//! its messages and where their delivery stands (`outbox::Delivery`). An
//! attempt is counted in the row before it is sent (the first one when
//! the message is written, each next one when the one before fails), so a
//! crash mid-send neither loses a message nor retries it at once. A 2xx
//! takes the message out of the row; anything else records the error and
//! schedules the next attempt; messages retried for three days are
//! parked: kept and shown, not retried.

use super::store::{self, Live};
use crate::outbox::{
    self, Delivery, Request, Schedule, WebhookKey, DEFAULT_BASE_DELAY_MS, DEFAULT_TIMEOUT_MS,
    MAX_BATCH, PARKED, RETRY_FOR_MS,
};
use crate::shell::error::Failure;
use crate::shell::sql::Sql;
use futures_util::future::join_all;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{console_error, js_sys, web_sys, Env, Result};

use crate::shell::platform::{error_text, now_millis, random_unit};

/// Requests sent at once, in one wave; a run sends waves while messages
/// are due, up to [`MAX_PER_RUN`] messages.
const WAVE: usize = 25;
const MAX_PER_RUN: usize = 500;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, bound directly. What it throws comes back as an
    /// error.
    #[wasm_bindgen(js_name = fetch, catch)]
    fn fetch_request(request: &web_sys::Request) -> std::result::Result<js_sys::Promise, JsValue>;

    /// The global `setTimeout(f, ms)`: the timer's id.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: f64) -> JsValue;

    /// The global `clearTimeout(id)`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Where and how to deliver, from the environment.
pub struct Origin {
    url: Option<String>,
    key: std::result::Result<WebhookKey, String>,
    timeout_ms: u64,
    pub schedule: Schedule,
    /// Messages per request: 1 unless `ORIGIN_BATCH_MAX` says more.
    batch: usize,
}

impl Origin {
    pub fn from_env(env: &Env) -> Origin {
        let var = |name: &str| {
            env.var(name)
                .ok()
                .map(|v| v.to_string())
                .filter(|v| !v.is_empty())
        };
        let number =
            |name: &str, default: u64| var(name).and_then(|v| v.parse().ok()).unwrap_or(default);
        Origin {
            url: var("ORIGIN_URL").map(|u| format!("{}/conversions", u.trim_end_matches('/'))),
            key: env
                .secret("ORIGIN_SECRET")
                .map_err(|_| "ORIGIN_SECRET is not set".to_owned())
                .and_then(|s| WebhookKey::from_secret(&s.to_string())),
            timeout_ms: number("ORIGIN_TIMEOUT_MS", DEFAULT_TIMEOUT_MS),
            schedule: Schedule {
                base_ms: number("OUTBOX_RETRY_BASE_MS", DEFAULT_BASE_DELAY_MS),
                retry_for_ms: number("OUTBOX_RETRY_FOR_MS", RETRY_FOR_MS),
            },
            batch: usize::try_from(number("ORIGIN_BATCH_MAX", 1))
                .unwrap_or(1)
                .clamp(1, MAX_BATCH),
        }
    }

    /// Sends one request; `signal` aborts it once the run's time is up.
    async fn send(
        &self,
        request: &Request,
        signal: &web_sys::AbortSignal,
    ) -> std::result::Result<(), String> {
        let url = self.url.as_deref().ok_or("ORIGIN_URL is not set")?;
        let key = self.key.as_ref().map_err(Clone::clone)?;
        let timestamp = (now_millis() / 1000) as i64;
        let headers = web_sys::Headers::new().map_err(|e| error_text(&e))?;
        let set = |name: &str, value: &str| headers.set(name, value).map_err(|e| error_text(&e));
        set("content-type", "application/json")?;
        set("webhook-id", &request.id)?;
        set("webhook-timestamp", &timestamp.to_string())?;
        set(
            "webhook-signature",
            &key.sign(&request.id, timestamp, &request.body),
        )?;
        set("idempotency-key", &request.id)?;
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_headers(&headers);
        init.set_body(&JsValue::from_str(&request.body));
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

/// An `AbortSignal` that aborts after a time, unless cleared first. One
/// per wave: a timer per message, as `AbortSignal.timeout` makes, stays
/// counted against the object's 10,000 active timers long after its
/// message is answered.
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

/// A conversion whose first message is being sent: its key, its delivery
/// state, whether it is pending.
type Due = (Vec<u8>, Delivery, bool);

/// What a run did: whether a delivery failed, and whether messages are
/// still waiting (parked ones included).
pub struct Run {
    pub failed: bool,
    pub left: bool,
}

/// Sends what is due, wave after wave, and writes each outcome in its
/// conversion's row.
pub async fn deliver_due(sql: &Sql, live: &RefCell<Live>, origin: &Origin) -> Result<Run> {
    let mut failed = false;
    let mut sent = 0;
    while sent < MAX_PER_RUN {
        let keys = live
            .borrow_mut()
            .take_due(now_millis() as i64, WAVE * origin.batch);
        if keys.is_empty() {
            break;
        }
        sent += keys.len();
        let mut rows = Vec::with_capacity(keys.len());
        for key in keys {
            match store::read_delivery(sql, &key)? {
                Some((delivery, pending)) if !delivery.messages.is_empty() => {
                    rows.push((key, delivery, pending))
                }
                // Delivered, or the conversion forgotten, meanwhile.
                _ => {
                    live.borrow_mut().in_flight.remove(&key);
                }
            }
        }
        let now = (now_millis() / 1000) as i64;
        let requests: Vec<(Request, &[Due])> = rows
            .chunks(origin.batch)
            .map(|group| {
                let firsts: Vec<_> = group.iter().map(|(_, d, _)| &d.messages[0]).collect();
                (Request::of(&firsts, now), group)
            })
            .collect();
        let deadline = Deadline::start(origin.timeout_ms)?;
        let results = join_all(
            requests
                .iter()
                .map(|(r, _)| origin.send(r, &deadline.signal)),
        )
        .await;
        deadline.clear();
        let mut errors = 0;
        for ((_, group), result) in requests.iter().zip(results) {
            for (key, delivery, pending) in group.iter() {
                let now_ms = now_millis();
                // A pending conversion whose last message the origin has
                // keeps its record in its row again.
                let record = match (&result, delivery.messages.as_slice(), pending) {
                    (Ok(()), [last], true) => Some(
                        serde_json::to_string(&store::carried(last)?)
                            .map_err(|e| Failure::new("a conversion's record", e))?,
                    ),
                    _ => None,
                };
                let after = match &result {
                    Ok(()) => delivery.clone().delivered(now_ms),
                    Err(error) => {
                        if errors == 0 {
                            // One console line per wave, not per message:
                            // with the origin down, a line per message
                            // floods the log.
                            console_error!("outbox {}: {error}", delivery.messages[0].id);
                        }
                        errors += 1;
                        Some(delivery.clone().failed(
                            error.clone(),
                            now_ms,
                            origin.schedule,
                            random_unit(),
                        ))
                    }
                };
                store::write_row_delivery(sql, key, after.as_ref(), record)?;
                let mut live = live.borrow_mut();
                live.in_flight.remove(key);
                match after {
                    Some(after) => live.queue(after.next_attempt_at, key.clone()),
                    None => live.done(key),
                }
            }
        }
        if errors > 1 {
            console_error!("outbox: {errors} deliveries failed in this wave");
        }
        failed |= errors > 0;
    }
    let left = live.borrow().any_waiting().unwrap_or(true);
    Ok(Run { failed, left })
}

/// Brings every parked message back: each is tried once more at once (and
/// parked again if that fails, its retry window being over). How many
/// conversions came back.
pub fn requeue_parked(sql: &Sql, live: &RefCell<Live>, now_ms: u64) -> Result<u64> {
    let rows = sql.all(
        "SELECT key, outbox, attempts, next_attempt_at, last_error FROM known
             WHERE next_attempt_at >= ?",
        vec![crate::shell::sql::int(PARKED)?],
    )?;
    let mut requeued = 0;
    for row in rows {
        let key = row.blob(0)?;
        let Some(delivery) = store::delivery_of(&row, 1)? else {
            continue;
        };
        let back = delivery.requeued(now_ms);
        store::write_delivery(sql, &key, Some(&back))?;
        live.borrow_mut().queue(back.next_attempt_at, key);
        requeued += back.messages.len() as u64;
    }
    Ok(requeued)
}

/// Every conversion's delivery that waits, parked ones included.
pub fn waiting(sql: &Sql) -> Result<Vec<Delivery>> {
    let rows = sql.all(
        "SELECT outbox, attempts, next_attempt_at, last_error FROM known WHERE outbox IS NOT NULL",
        vec![],
    )?;
    let mut deliveries = Vec::new();
    for row in rows {
        deliveries.extend(store::delivery_of(&row, 0)?);
    }
    Ok(deliveries)
}

/// Says a failure of marking the outbox without failing the run: nothing
/// is lost, the outbox only goes unlisted until the next run.
pub fn mark_failed(campaign: &str, e: Failure) {
    console_error!("{}", e.during(format!("marking the outbox of {campaign}")));
}
