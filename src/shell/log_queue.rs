//! Every postback's log entry, refused at the edge or decided by its
//! campaign object, on its way to the log: gathered per isolate into a
//! batch (`log::batch`) and sent to the log queue, whose consumer
//! (`shell/log_consumer.rs`) writes the entries of every isolate together.
//!
//! The first entry of a window schedules, through `waitUntil`, one send of
//! the batch [`DEFAULT_WINDOW_MS`] later (or `LOG_BATCH_MS`); a batch that
//! fills up before is sent at once. `waitUntil` keeps the isolate alive
//! for it, so an entry is not lost when the request that made it ends.
//! What a crash of the isolate can lose is the window not yet sent.

use super::error::Failure;
use crate::log::batch::BatchWriter;
use crate::log::LogEntry;
use std::cell::{Cell, OnceCell, RefCell};
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{console_error, Context, Delay, Env, QueueContentType, RawMessageBuilder};

pub const BINDING: &str = "LOG_QUEUE";
/// How long entries gather before they are sent: a send costs queue
/// operations whatever it holds, so the window sets what the log costs a
/// quiet isolate (docs/COST.md), and an entry is readable about a window
/// plus the consumer's batch wait after its postback (at most 30 s).
const DEFAULT_WINDOW_MS: u64 = 5_000;

thread_local! {
    static WAITING: RefCell<BatchWriter> = RefCell::new(BatchWriter::default());
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static WINDOW_MS: OnceCell<u64> = const { OnceCell::new() };
}

/// The window: `LOG_BATCH_MS` when it is set to a number of milliseconds
/// up to 20 s, else [`DEFAULT_WINDOW_MS`].
fn window_ms(env: &Env) -> u64 {
    WINDOW_MS.with(|w| {
        *w.get_or_init(|| {
            env.var("LOG_BATCH_MS")
                .ok()
                .and_then(|v| v.to_string().parse::<u64>().ok())
                .filter(|ms| *ms <= 20_000)
                .unwrap_or(DEFAULT_WINDOW_MS)
        })
    })
}

/// Logs `entry`: for the bucket if its campaign exists (`attributed`),
/// else for the bounded unattributed log.
pub fn push(env: &Env, ctx: &Context, entry: &LogEntry, attributed: bool) {
    let full = WAITING.with(|w| w.borrow_mut().push(entry, attributed));
    if let Some(batch) = full {
        let env = env.clone();
        ctx.wait_until(async move { send(&env, batch).await });
    }
    if SCHEDULED.with(|s| s.replace(true)) {
        return;
    }
    let env = env.clone();
    let window = window_ms(&env);
    ctx.wait_until(async move {
        Delay::from(Duration::from_millis(window)).await;
        SCHEDULED.with(|s| s.set(false));
        let batch = WAITING.with(|w| std::mem::take(&mut *w.borrow_mut()));
        if !batch.is_empty() {
            send(&env, batch.finish()).await;
        }
    });
}

async fn send(env: &Env, batch: String) {
    let sent = match env.queue(BINDING) {
        Ok(queue) => {
            let message = RawMessageBuilder::new(JsValue::from_str(&batch))
                .build_with_content_type(QueueContentType::Text);
            queue.send_raw(message).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = sent {
        console_error!(
            "{}",
            Failure::new("sending log entries to the log queue", e)
        );
    }
}
