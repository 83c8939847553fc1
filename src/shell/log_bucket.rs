//! The postbacks log's R2 bucket (binding `LOGS`), bound directly: a batch
//! written as chunks (`log::bucket` names them), a query answered from
//! listings and the chunks they point to. No campaign object takes part.

use crate::log::bucket;
use crate::log::chunk::{self, ChunkMeta, ChunkWriter, PageBuilder};
use crate::log::{Hours, LogPage, LogQuery, RETENTION_MS};
use std::collections::BTreeMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{Array, Object, Promise, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

use super::platform::{error_text, nonce_u32};

pub const BINDING: &str = "LOGS";
/// Most listings (of up to 1,000 chunks each) one query reads: past them
/// its counts say how far back they reach (`counted_since`).
const MAX_LISTINGS: usize = 10;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = Object)]
    pub type R2Bucket;

    #[wasm_bindgen(method, catch)]
    fn put(this: &R2Bucket, key: &str, value: &str, options: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn get(this: &R2Bucket, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn list(this: &R2Bucket, options: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn delete(this: &R2Bucket, key: &str) -> Result<Promise, JsValue>;
}

type Outcome<T> = Result<T, String>;

/// The bucket bound as `LOGS`.
pub fn bucket(env: &Env) -> Outcome<R2Bucket> {
    let value =
        Reflect::get(env.as_ref(), &JsValue::from_str(BINDING)).map_err(|e| error_text(&e))?;
    if value.is_undefined() || value.is_null() {
        return Err(format!("no R2 bucket is bound as {BINDING}"));
    }
    Ok(value.unchecked_into())
}

async fn settle(call: Result<Promise, JsValue>) -> Outcome<JsValue> {
    JsFuture::from(call.map_err(|e| error_text(&e))?)
        .await
        .map_err(|e| error_text(&e))
}

fn set(object: &Object, name: &str, value: &JsValue) -> Outcome<()> {
    Reflect::set(object, &JsValue::from_str(name), value)
        .map(drop)
        .map_err(|e| error_text(&e))
}

fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// Stores a chunk under `prefix`, its meta as custom metadata.
pub async fn put_chunk(
    bucket: &R2Bucket,
    prefix: &str,
    meta: &ChunkMeta,
    entries: &str,
) -> Outcome<()> {
    let key = bucket::key(prefix, &meta.last_id, nonce_u32());
    let custom = Object::new();
    for (name, value) in bucket::metadata(meta) {
        set(&custom, name, &JsValue::from_str(&value))?;
    }
    let options = Object::new();
    set(&options, "customMetadata", &custom)?;
    let http = Object::new();
    set(&http, "contentType", &JsValue::from_str("application/json"))?;
    set(&options, "httpMetadata", &http)?;
    settle(bucket.put(&key, entries, &options)).await.map(drop)
}

/// Writes one destination's chunk of a batch: `prefix` is a campaign's or
/// [`ALL`].
pub async fn write(env: &Env, prefix: &str, chunk: ChunkWriter) -> Outcome<()> {
    let (meta, entries) = chunk.finish();
    put_chunk(&bucket(env)?, prefix, &meta, &entries).await
}

/// One listed chunk: its key and meta.
struct Listed {
    key: String,
    last_ms: u64,
    meta: ChunkMeta,
}

/// The chunks under `prefix`, newest first, a listing at a time.
async fn list_page(
    bucket: &R2Bucket,
    prefix: &str,
    start_after: Option<&str>,
    cursor: Option<&str>,
) -> Outcome<(Vec<Listed>, Option<String>)> {
    let options = Object::new();
    set(&options, "prefix", &JsValue::from_str(prefix))?;
    set(&options, "limit", &JsValue::from(1000))?;
    let include = Array::of1(&JsValue::from_str("customMetadata"));
    set(&options, "include", &include)?;
    if let Some(cursor) = cursor {
        set(&options, "cursor", &JsValue::from_str(cursor))?;
    } else if let Some(start) = start_after {
        set(&options, "startAfter", &JsValue::from_str(start))?;
    }
    let listing = settle(bucket.list(&options)).await?;
    let objects: Array = field(&listing, "objects")
        .dyn_into()
        .map_err(|_| "an R2 listing without objects".to_owned())?;
    let mut listed = Vec::new();
    for object in objects.iter() {
        let key = field(&object, "key").as_string().unwrap_or_default();
        let custom = field(&object, "customMetadata");
        let meta = bucket::meta_from(|name| field(&custom, name).as_string());
        // What is not one of our chunks is not read.
        if let (Some(last_ms), Some(meta)) = (bucket::key_millis(&key), meta) {
            listed.push(Listed { key, last_ms, meta });
        }
    }
    let next = (field(&listing, "truncated").as_bool() == Some(true))
        .then(|| field(&listing, "cursor").as_string())
        .flatten();
    Ok((listed, next))
}

async fn read_chunk(bucket: &R2Bucket, key: &str) -> Outcome<Vec<crate::log::LogEntry>> {
    let object = settle(bucket.get(key)).await?;
    if object.is_null() || object.is_undefined() {
        // Deleted by the lifecycle rule between the listing and now.
        return Ok(Vec::new());
    }
    let text: Promise = Reflect::get(&object, &JsValue::from_str("text"))
        .and_then(|f| f.dyn_into::<worker::js_sys::Function>())
        .and_then(|f| f.call0(&object))
        .and_then(|p| p.dyn_into())
        .map_err(|e| error_text(&e))?;
    let text = JsFuture::from(text).await.map_err(|e| error_text(&e))?;
    chunk::entries(&text.as_string().unwrap_or_default())
        .map_err(|e| format!("log chunk {key}: {e}"))
}

/// The answer to `query` from the bucket at `now_ms`: the newest matching
/// entries and, with `count`, counts per code and per hour over the chunks
/// the query reaches (back to `since`, retention, or [`MAX_LISTINGS`]
/// listings; the oldest time counted, when that is not all, in
/// `counted_since`). Without `count` (an export's pages) it stops as soon
/// as no older chunk can change the page.
pub async fn query(
    env: &Env,
    query: &LogQuery,
    now_ms: u64,
    count: bool,
) -> Outcome<(LogPage, Option<u64>)> {
    let bucket = bucket(env)?;
    let prefix = bucket::prefix(query.campaign_id.as_deref());
    let start_after = bucket::start_after(&prefix, query);
    let mut page = PageBuilder::new(query);
    let mut counts = BTreeMap::new();
    let mut hours = Hours::new();
    let mut cursor: Option<String> = None;
    let mut oldest_counted = None;
    for _ in 0..MAX_LISTINGS {
        let (listed, next) =
            list_page(&bucket, &prefix, start_after.as_deref(), cursor.as_deref()).await?;
        for chunk in listed {
            let wants = page.wants(&chunk.meta.last_id);
            if bucket::past(query, chunk.last_ms, now_ms, RETENTION_MS) || !(count || wants) {
                return Ok((finish(page, counts, hours), None));
            }
            let wanted = wants
                && query
                    .code
                    .as_deref()
                    .is_none_or(|code| bucket::may_hold_code(&chunk.meta, code))
                && query
                    .before
                    .as_deref()
                    .is_none_or(|before| chunk.meta.first_id.as_str() < before);
            let whole = bucket::wholly_since(query, &chunk.meta);
            let entries = if wanted || (count && !whole) {
                Some(read_chunk(&bucket, &chunk.key).await?)
            } else {
                None
            };
            match (&entries, whole) {
                _ if !count => {}
                (_, true) => chunk::add_meta(&mut counts, &mut hours, &chunk.meta),
                (Some(entries), false) => {
                    chunk::count_into(&mut counts, &mut hours, query, entries)
                }
                (None, false) => {}
            }
            if let (Some(entries), true) = (entries, wanted) {
                page.add(entries);
            }
            oldest_counted = Some(chunk.last_ms);
        }
        match next {
            Some(next) => cursor = Some(next),
            None => return Ok((finish(page, counts, hours), None)),
        }
    }
    Ok((finish(page, counts, hours), oldest_counted))
}

fn finish(page: PageBuilder<'_>, counts: BTreeMap<String, u64>, hours: Hours) -> LogPage {
    LogPage {
        entries: page.finish(),
        counts,
        hours,
    }
}

/// Where a campaign whose outbox holds messages after a failed delivery
/// marks itself (an empty object), so `GET /v1/outbox` asks only those
/// campaigns' objects: it costs what waits, not the number of campaigns.
const OUTBOX_MARKS: &str = "o/";

/// Marks (`waiting`) or unmarks `campaign` as having deliveries waiting.
pub async fn mark_outbox(env: &Env, campaign: &str, waiting: bool) -> Outcome<()> {
    let bucket = bucket(env)?;
    let key = format!("{OUTBOX_MARKS}{campaign}");
    let call = if waiting {
        bucket.put(&key, "", &Object::new())
    } else {
        bucket.delete(&key)
    };
    settle(call).await.map(drop)
}

/// The campaigns marked as having deliveries waiting (at most 100,000).
pub async fn outbox_marks(env: &Env) -> Outcome<Vec<String>> {
    let bucket = bucket(env)?;
    let mut campaigns = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let options = Object::new();
        set(&options, "prefix", &JsValue::from_str(OUTBOX_MARKS))?;
        if let Some(cursor) = &cursor {
            set(&options, "cursor", &JsValue::from_str(cursor))?;
        }
        let listing = settle(bucket.list(&options)).await?;
        let objects: Array = field(&listing, "objects")
            .dyn_into()
            .map_err(|_| "an R2 listing without objects".to_owned())?;
        campaigns.extend(objects.iter().filter_map(|o| {
            let key = field(&o, "key").as_string()?;
            key.strip_prefix(OUTBOX_MARKS).map(str::to_owned)
        }));
        cursor = (field(&listing, "truncated").as_bool() == Some(true))
            .then(|| field(&listing, "cursor").as_string())
            .flatten();
        if cursor.is_none() {
            break;
        }
    }
    Ok(campaigns)
}
