//! The edge's log entries, batched per isolate.
//!
//! Writing each refused postback's entry to its object at once would cost a
//! Durable Object round trip per rejection — more than the rejection
//! itself. Entries wait here instead, already serialized into the chunk
//! their object will store as it is (`log::chunk`), and the first entry of
//! a window schedules, through `waitUntil`, one flush per destination
//! [`WINDOW_MS`] later. `waitUntil` keeps the isolate alive for the flush,
//! so an entry is not lost when the request that made it ends.

use super::object_client;
use crate::log::chunk::ChunkWriter;
use crate::log::LogEntry;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;
use worker::{console_error, Context, Delay, Env};

/// How long entries gather before they are written: an operator sees a
/// refusal in the log within a second. A write costs the runtime a
/// Durable Object request and a transaction whatever it holds (2.5–4.5 ms
/// of workerd's CPU on the benchmark machine, against about 1 µs per
/// entry), so the window sets what the log costs a rejection: at 600
/// refusals a second under `wrangler dev`, a write per 100 ms cost each
/// one 5% more server CPU than the JS peer's, a write per second nothing
/// measurable (README, Performance). It also bounds the writes a
/// campaign's object takes from the edge to one per isolate per second,
/// however hot the campaign (docs/SCALING.md).
const WINDOW_MS: u64 = 1000;
/// Past this many waiting entries, a flush starts at once (memory bound
/// under a flood).
const MAX_WAITING: usize = 500;

thread_local! {
    static WAITING: RefCell<HashMap<String, ChunkWriter>> = RefCell::new(HashMap::new());
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

pub fn push(env: &Env, ctx: &Context, entry: LogEntry, campaign_exists: bool) {
    let destination = object_client::log_destination(&entry, campaign_exists);
    WAITING.with(|w| {
        let mut waiting = w.borrow_mut();
        // The destination is copied only for the window's first entry.
        match waiting.get_mut(destination) {
            Some(chunk) => chunk.push(&entry),
            None => waiting
                .entry(destination.to_owned())
                .or_default()
                .push(&entry),
        }
    });
    let waiting = COUNT.with(|c| {
        c.set(c.get() + 1);
        c.get()
    });
    let full = waiting >= MAX_WAITING;
    if SCHEDULED.with(|s| s.replace(true)) && !full {
        return;
    }
    let env = env.clone();
    ctx.wait_until(async move {
        if !full {
            Delay::from(Duration::from_millis(WINDOW_MS)).await;
        }
        flush(&env).await;
    });
}

async fn flush(env: &Env) {
    let chunks = WAITING.with(|w| std::mem::take(&mut *w.borrow_mut()));
    COUNT.with(|c| c.set(0));
    SCHEDULED.with(|s| s.set(false));
    let writes = chunks
        .into_iter()
        .map(|(destination, chunk)| object_client::write_logs(env, destination, chunk));
    for result in super::join::join_all(writes).await {
        if let Err(e) = result {
            console_error!("writing the postbacks log: {e}");
        }
    }
}
