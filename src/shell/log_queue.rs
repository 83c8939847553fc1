//! The postbacks log's entries, batched per isolate: every postback's —
//! refused at the edge or decided by its campaign object.
//!
//! Writing each entry at once would cost a storage write per postback —
//! more than the postback itself. Entries wait here instead, already
//! serialized into the chunks that will be stored as they are
//! (`log::chunk`): one for their campaign and one for the bucket's
//! all-campaigns prefix (`log::bucket`), or, for postbacks that name no
//! existing campaign, one for the bounded unattributed log in its Durable
//! Object. The first entry of a window schedules, through `waitUntil`, one
//! flush of every destination [`WINDOW_MS`] later; `waitUntil` keeps the
//! isolate alive for it, so an entry is not lost when the request that
//! made it ends. What a crash of the isolate can lose is the window not yet
//! written: at most a second (or [`MAX_WAITING_BYTES`] of entries) of one
//! isolate's entries.

use super::{log_bucket, object_client};
use crate::log::bucket;
use crate::log::chunk::ChunkWriter;
use crate::log::LogEntry;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;
use worker::{console_error, Context, Delay, Env};

/// How long entries gather before they are written: an operator sees a
/// postback in the log within a second. A write costs a storage request
/// whatever it holds, so the window sets what the log costs a postback,
/// and bounds the writes to one per destination per isolate per second,
/// however hot the campaign (docs/SCALING.md).
const WINDOW_MS: u64 = 1000;
/// Past this many bytes of waiting entries (every copy counted), a flush
/// starts at once: the memory bound under a flood. A write costs a storage
/// request whatever it holds (R2 bills each as a Class A operation), so
/// the bound is in bytes, not entries: about 1,300 typical entries, each in
/// two chunks. It keeps any one chunk under the 2 MB a row of the
/// unattributed log's SQLite table may hold (a chunk is a row there).
const MAX_WAITING_BYTES: usize = 3 << 19;

thread_local! {
    static WAITING: RefCell<HashMap<String, ChunkWriter>> = RefCell::new(HashMap::new());
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
    /// Bytes waiting, every copy counted.
    static BYTES: Cell<usize> = const { Cell::new(0) };
}

/// Where an entry waits: the bucket prefixes of its campaign and of all
/// campaigns if the campaign exists, else the unattributed log. Unknown
/// campaigns get no storage of their own.
fn destinations(entry: &LogEntry, campaign_exists: bool) -> Vec<String> {
    match (&entry.campaign_id, campaign_exists) {
        (Some(campaign), true) => vec![bucket::prefix(Some(campaign)), bucket::ALL.to_owned()],
        _ => vec![object_client::unattributed().to_owned()],
    }
}

pub fn push(env: &Env, ctx: &Context, entry: LogEntry, campaign_exists: bool) {
    // Serialized once, for its campaign's chunk and the all-campaigns one.
    let Ok(json) = serde_json::to_string(&entry) else {
        return;
    };
    let added = WAITING.with(|w| {
        let mut waiting = w.borrow_mut();
        let mut added = 0;
        for destination in destinations(&entry, campaign_exists) {
            waiting
                .entry(destination)
                .or_default()
                .push_serialized(&entry, &json);
            added += json.len() + 1;
        }
        added
    });
    let waiting = BYTES.with(|b| {
        b.set(b.get() + added);
        b.get()
    });
    let full = waiting >= MAX_WAITING_BYTES;
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
    BYTES.with(|b| b.set(0));
    SCHEDULED.with(|s| s.set(false));
    let writes = chunks.into_iter().map(|(destination, chunk)| async move {
        if destination == object_client::unattributed() {
            object_client::write_logs(env, destination, chunk).await
        } else {
            log_bucket::write(env, &destination, chunk).await
        }
    });
    for result in super::join::join_all(writes).await {
        if let Err(e) = result {
            console_error!("writing the postbacks log: {e}");
        }
    }
}
