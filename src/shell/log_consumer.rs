//! The log queue's consumer (the worker's `queue` export): the batches
//! every isolate sent (`shell/log_queue.rs`), written together — the
//! entries of existing campaigns into the bucket's chunks
//! (`log::gather`), the others into the bounded unattributed log's
//! object.
//!
//! Delivery is at least once. A message is acknowledged once everything
//! it holds is stored, and retried otherwise. A chunk's key is derived
//! from its entries, so a batch redelivered whole rewrites the same
//! objects; a redelivered message's entries that any chunk already holds
//! (it may come back with others) are found and left out first.

use super::error::Outcome;
use super::{log_bucket, object_client};
use crate::log::batch::{LogBatch, UnattributedBatch};
use crate::log::gather;
use crate::log::id::id_millis;
use crate::log::layout;
use crate::log::{LogEntry, MAX_UNATTRIBUTED};
use futures_util::future::join_all;
use std::collections::{HashMap, HashSet};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{Array, Reflect};
use worker::{console_error, console_log, Bucket, Env};

#[wasm_bindgen]
extern "C" {
    /// A batch of the queue, as the runtime hands it to the consumer.
    pub type QueueBatch;

    #[wasm_bindgen(method, getter)]
    fn messages(this: &QueueBatch) -> Array;

    type QueueMessage;

    #[wasm_bindgen(method, getter)]
    fn body(this: &QueueMessage) -> JsValue;

    #[wasm_bindgen(method)]
    fn ack(this: &QueueMessage);

    #[wasm_bindgen(method)]
    fn retry(this: &QueueMessage);
}

/// How many times the queue has handed a message over (1 the first time).
fn attempts(message: &QueueMessage) -> u32 {
    Reflect::get(message, &JsValue::from_str("attempts"))
        .ok()
        .and_then(|n| n.as_f64())
        .map_or(1, |n| n as u32)
}

/// One message, read.
struct Received {
    message: QueueMessage,
    batch: LogBatch,
    redelivered: bool,
}

pub async fn consume(batch: QueueBatch, env: &Env) {
    let redeliver_all = env
        .var("LOG_QUEUE_REDELIVER")
        .is_ok_and(|v| v.to_string() == "first");
    let mut received = Vec::new();
    for message in batch.messages().iter() {
        let message: QueueMessage = message.unchecked_into();
        let read = message
            .body()
            .as_string()
            .ok_or_else(|| "its body is not text".to_owned())
            .and_then(|text| LogBatch::from_json(&text).map_err(|e| e.to_string()));
        match read {
            Ok(log) => received.push(Received {
                redelivered: attempts(&message) > 1,
                message,
                batch: log,
            }),
            Err(e) => {
                // Never readable, whatever the retries: dropped, and said.
                console_error!("a log queue message that is not a batch of entries: {e}");
                message.ack();
            }
        }
    }
    let failed = match write(env, &mut received).await {
        Ok(failed) => failed,
        Err(e) => {
            console_error!("{}", e.during("writing the postbacks log"));
            (0..received.len()).collect()
        }
    };
    for (i, r) in received.iter().enumerate() {
        // LOG_QUEUE_REDELIVER=first (tests only) hands every message over
        // once more after it was written, as the platform may.
        if failed.contains(&i) || (redeliver_all && !r.redelivered) {
            r.message.retry();
        } else {
            r.message.ack();
        }
    }
}

/// Writes what the messages hold; the messages whose entries could not
/// all be stored.
async fn write(env: &Env, received: &mut [Received]) -> Outcome<HashSet<usize>> {
    let bucket = log_bucket::bucket(env)?;
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut attributed = Vec::new();
    let mut unattributed = Vec::new();
    let mut redelivered = false;
    for (i, r) in received.iter_mut().enumerate() {
        let mut entries = std::mem::take(&mut r.batch.attributed);
        if r.redelivered {
            let stored = stored_ids(&bucket, &entries).await?;
            let before = entries.len();
            entries = gather::not_stored(entries, &stored);
            if entries.len() < before {
                console_log!(
                    "postbacks log: {} entries of a redelivered batch were stored already",
                    before - entries.len()
                );
            }
            redelivered = true;
        }
        owner.extend(entries.iter().map(|e| (e.id.clone(), i)));
        attributed.extend(entries);
        unattributed.extend(
            std::mem::take(&mut r.batch.unattributed)
                .into_iter()
                .map(|e| (i, e)),
        );
    }
    let mut failed = HashSet::new();
    let chunks = gather::bucket_chunks(attributed);
    let written = join_all(chunks.iter().map(|chunk| log_bucket::put(&bucket, chunk))).await;
    for (chunk, result) in chunks.iter().zip(written) {
        if let Err(e) = result {
            console_error!("{e}");
            failed.extend(chunk.ids.iter().filter_map(|id| owner.get(id).copied()));
        }
    }
    if !unattributed.is_empty() {
        let owners: HashSet<usize> = unattributed.iter().map(|(i, _)| *i).collect();
        let batch = UnattributedBatch {
            entries: unattributed.into_iter().map(|(_, e)| e).collect(),
            redelivered,
            bound: unattributed_bound(env),
        };
        if let Err(e) = object_client::write_unattributed(env, &batch).await {
            console_error!("{}", e.during("writing the unattributed log"));
            failed.extend(owners);
        }
    }
    Ok(failed)
}

/// The most entries the unattributed log keeps: [`MAX_UNATTRIBUTED`], or
/// less with `LOG_UNATTRIBUTED_MAX` (which never raises it).
fn unattributed_bound(env: &Env) -> u32 {
    env.var("LOG_UNATTRIBUTED_MAX")
        .ok()
        .and_then(|v| v.to_string().parse::<u32>().ok())
        .map_or(MAX_UNATTRIBUTED, |b| b.min(MAX_UNATTRIBUTED))
}

/// The ids of `entries` some chunk of the bucket holds already: the
/// chunks of their shards around their time are read.
async fn stored_ids(bucket: &Bucket, entries: &[LogEntry]) -> Outcome<HashSet<String>> {
    let mut stored = HashSet::new();
    let Some((oldest, newest)) = gather::time_range(entries) else {
        return Ok(stored);
    };
    let mut shards: Vec<u32> = entries
        .iter()
        .map(|e| layout::shard_of(e.campaign()))
        .collect();
    shards.sort_unstable();
    shards.dedup();
    let wanted: HashSet<&str> = entries.iter().map(|e| e.id.as_str()).collect();
    for shard in shards {
        let prefix = layout::shard_prefix(shard);
        let around = crate::log::LogQuery {
            before: Some(crate::log::id::bound(newest.saturating_add(1))),
            ..crate::log::LogQuery::default()
        };
        let start = layout::start_after(&prefix, &around);
        let mut cursor = None;
        loop {
            let (listed, next) =
                log_bucket::list(bucket, &prefix, start.as_deref(), cursor.as_deref()).await?;
            let mut older = false;
            for chunk in &listed {
                older |= id_millis(&chunk.meta.last) < oldest;
                let overlaps = chunk.meta.first.as_str() <= newest_id(newest).as_str()
                    && id_millis(&chunk.meta.last) >= oldest;
                if overlaps {
                    for entry in log_bucket::read(bucket, &chunk.key).await? {
                        if wanted.contains(entry.id.as_str()) {
                            stored.insert(entry.id);
                        }
                    }
                }
            }
            match next {
                Some(next) if !older => cursor = Some(next),
                _ => break,
            }
        }
    }
    Ok(stored)
}

/// The largest id an entry made at `ms` can have.
fn newest_id(ms: u64) -> String {
    crate::log::id::entry_id(ms, u32::MAX)
}
