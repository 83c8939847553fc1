//! The postbacks log's R2 bucket (binding `LOGS`): chunks written by the
//! log queue's consumer, listed and read by queries, where `log::layout`
//! says. No campaign object takes part.

use super::error::{Failure, Outcome};
use crate::log::chunk::{self, ChunkMeta};
use crate::log::gather::BucketChunk;
use crate::log::layout;
use crate::log::plan::{Reading, Step};
use crate::log::{LogEntry, LogQuery};
use std::collections::HashMap;
use worker::{Bucket, Env, HttpMetadata, Include};

pub const BINDING: &str = "LOGS";
/// Most listings (of up to 1,000 chunks each) one query reads per prefix:
/// past them its answer says how far back it reached.
const MAX_LISTINGS: usize = 10;
/// Most chunks one query reads per prefix.
const MAX_READS: usize = 500;

pub fn bucket(env: &Env) -> Outcome<Bucket> {
    env.bucket(BINDING)
        .map_err(|e| Failure::new(format!("the R2 bucket {BINDING}"), e))
}

/// Stores a chunk, its meta as custom metadata.
pub async fn put(bucket: &Bucket, chunk: &BucketChunk) -> Outcome<()> {
    let metadata: HashMap<String, String> = layout::metadata(&chunk.meta).into_iter().collect();
    bucket
        .put(&chunk.key, chunk.body.clone())
        .custom_metadata(metadata)
        .http_metadata(HttpMetadata {
            content_type: Some("application/json".to_owned()),
            ..HttpMetadata::default()
        })
        .execute()
        .await
        .map(drop)
        .map_err(|e| Failure::new(format!("writing the log chunk {}", chunk.key), e))
}

/// Whether a version before this one wrote the log: its chunks for all
/// campaigns are in the bucket (one listing of one object).
pub async fn earlier_version_ran(env: &Env) -> Outcome<bool> {
    let listed = bucket(env)?
        .list()
        .prefix(layout::legacy_prefixes(&crate::log::Scope::all()).concat())
        .limit(1)
        .execute()
        .await
        .map_err(|e| Failure::new("listing the bucket", e))?;
    Ok(!listed.objects().is_empty())
}

/// A chunk as a listing shows it.
pub struct Listed {
    pub key: String,
    pub meta: ChunkMeta,
}

/// One listing of the chunks under `prefix`, newest first: after
/// `start_after` (or from `cursor`), and the cursor of the next one.
pub async fn list(
    bucket: &Bucket,
    prefix: &str,
    start_after: Option<&str>,
    cursor: Option<&str>,
) -> Outcome<(Vec<Listed>, Option<String>)> {
    let mut listing = bucket
        .list()
        .prefix(prefix)
        .limit(1000)
        .include(vec![Include::CustomMetadata]);
    if let Some(cursor) = cursor {
        listing = listing.cursor(cursor);
    } else if let Some(start) = start_after {
        listing = listing.start_after(start);
    }
    let objects = listing
        .execute()
        .await
        .map_err(|e| Failure::new(format!("listing {prefix}"), e))?;
    let mut listed = Vec::new();
    for object in objects.objects() {
        let key = object.key();
        let custom = object.custom_metadata().unwrap_or_default();
        // What is not one of the log's chunks is not read.
        if let (Some(_), Some(meta)) = (
            layout::key_millis(&key),
            layout::meta_from(|name| custom.get(name).cloned()),
        ) {
            listed.push(Listed { key, meta });
        }
    }
    let next = objects.truncated().then(|| objects.cursor()).flatten();
    Ok((listed, next))
}

/// A chunk's entries; none if it was deleted (by retention) since it was
/// listed.
pub async fn read(bucket: &Bucket, key: &str) -> Outcome<Vec<LogEntry>> {
    let Some(object) = bucket
        .get(key)
        .execute()
        .await
        .map_err(|e| Failure::new(format!("reading the log chunk {key}"), e))?
    else {
        return Ok(Vec::new());
    };
    let Some(body) = object.body() else {
        return Ok(Vec::new());
    };
    let text = body
        .text()
        .await
        .map_err(|e| Failure::new(format!("reading the log chunk {key}"), e))?;
    chunk::entries(&text).map_err(|e| Failure::new(format!("the log chunk {key}"), e))
}

/// How a reading of one prefix ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The rule stopped it: nothing older can count.
    Stopped,
    /// The prefix holds nothing older.
    Exhausted,
    /// It read as much as a query may; the reading says where it stopped.
    Cut,
}

/// Feeds `reading` the chunks under `prefix`, newest first, as the rule
/// says: listings and reads, within a query's bounds.
pub async fn read_prefix(
    bucket: &Bucket,
    prefix: &str,
    query: &LogQuery,
    reading: &mut Reading<'_>,
) -> Outcome<Ended> {
    let start_after = layout::start_after(prefix, query);
    let mut cursor: Option<String> = None;
    let mut reads = 0;
    let mut last_listed: Option<ChunkMeta> = None;
    for _ in 0..MAX_LISTINGS {
        let (listed, next) =
            list(bucket, prefix, start_after.as_deref(), cursor.as_deref()).await?;
        for chunk in &listed {
            match reading.step(&chunk.meta) {
                Step::Stop => return Ok(Ended::Stopped),
                Step::Skip => {}
                Step::Count => reading.count(&chunk.meta),
                Step::Read => {
                    reading.read(&chunk.meta, read(bucket, &chunk.key).await?);
                    reads += 1;
                    if reads == MAX_READS {
                        reading.stopped_after(&chunk.meta);
                        return Ok(Ended::Cut);
                    }
                }
            }
        }
        let Some(next) = next else {
            return Ok(Ended::Exhausted);
        };
        cursor = Some(next);
        last_listed = listed.into_iter().last().map(|chunk| chunk.meta);
    }
    if let Some(meta) = &last_listed {
        reading.stopped_after(meta);
    }
    Ok(Ended::Cut)
}
