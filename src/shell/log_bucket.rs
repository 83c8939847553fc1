//! The postbacks log's R2 bucket (binding `LOGS`): chunks written by the
//! log queue's consumer, listed and read by queries, where `log::layout`
//! says. No campaign object takes part.

use super::error::{Failure, Outcome};
use crate::log::chunk::{self, ChunkMeta};
use crate::log::gather::BucketChunk;
use crate::log::layout;
use crate::log::plan::{newest_next, Reading, Step};
use crate::log::{LogEntry, LogQuery};
use futures_util::future::join_all;
use std::collections::{HashMap, VecDeque};
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

/// How a reading ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The rule stopped it: nothing older can count.
    Stopped,
    /// The prefixes hold nothing older.
    Exhausted,
    /// It read as much as a query may; the reading says where it stopped.
    Cut,
}

/// One prefix's chunks as a reading draws on them: what its last listing
/// showed and not yet fed, and where the next listing starts.
struct Source<'p> {
    prefix: &'p str,
    start_after: Option<String>,
    waiting: VecDeque<Listed>,
    /// The next listing's cursor; `None` once the prefix is listed to its
    /// end.
    cursor: Option<String>,
    listings: usize,
    reads: usize,
    /// The last chunk fed from this prefix.
    fed: Option<ChunkMeta>,
}

impl<'p> Source<'p> {
    fn new(prefix: &'p str, query: &LogQuery) -> Source<'p> {
        Source {
            prefix,
            start_after: layout::start_after(prefix, query),
            waiting: VecDeque::new(),
            cursor: None,
            listings: 0,
            reads: 0,
            fed: None,
        }
    }

    async fn list_next(&mut self, bucket: &Bucket) -> Outcome<()> {
        let (listed, next) = list(
            bucket,
            self.prefix,
            self.start_after.as_deref(),
            self.cursor.as_deref(),
        )
        .await?;
        self.listings += 1;
        self.waiting.extend(listed);
        self.cursor = next;
        Ok(())
    }
}

/// Feeds `reading` the chunks under `prefixes` as one sequence, newest
/// first by their newest entry (each prefix's listings are;
/// [`newest_next`] picks among their next chunks), as the rule says: so a page
/// fills from the newest chunks of every prefix, and what is older is
/// counted from its meta or not read at all. Each prefix reads at most
/// [`MAX_LISTINGS`] listings and [`MAX_READS`] chunks.
pub async fn read_prefixes(
    bucket: &Bucket,
    prefixes: &[String],
    query: &LogQuery,
    reading: &mut Reading<'_>,
) -> Outcome<Ended> {
    let mut sources: Vec<Source> = prefixes.iter().map(|p| Source::new(p, query)).collect();
    for listed in join_all(sources.iter_mut().map(|s| s.list_next(bucket))).await {
        listed?;
    }
    loop {
        for source in &mut sources {
            while source.waiting.is_empty() && source.cursor.is_some() {
                if source.listings == MAX_LISTINGS {
                    // What this prefix holds past its last listing is
                    // older than every chunk fed: the answer covers what
                    // is newer than that.
                    if let Some(meta) = &source.fed {
                        reading.stopped_after(meta);
                    }
                    return Ok(Ended::Cut);
                }
                source.list_next(bucket).await?;
            }
        }
        let fronts = sources.iter().map(|s| s.waiting.front().map(|c| &c.meta));
        let Some(source) = newest_next(fronts).and_then(|i| sources.get_mut(i)) else {
            return Ok(Ended::Exhausted);
        };
        let Some(chunk) = source.waiting.pop_front() else {
            return Ok(Ended::Exhausted);
        };
        match reading.step(&chunk.meta) {
            Step::Stop => return Ok(Ended::Stopped),
            Step::Skip => {}
            Step::Count => reading.count(&chunk.meta),
            Step::Read => {
                reading.read(&chunk.meta, read(bucket, &chunk.key).await?);
                source.reads += 1;
                if source.reads == MAX_READS {
                    reading.stopped_after(&chunk.meta);
                    return Ok(Ended::Cut);
                }
            }
        }
        source.fed = Some(chunk.meta);
    }
}
