//! The edge's calls to campaign objects (see `campaign_object` for the
//! routes). Any failure to get an answer is an error string: the caller
//! answers `internal_error` or logs it.

use super::campaign_object::{BINDING, UNATTRIBUTED};
use crate::ledger::{Submission, Verdict};
use crate::log::chunk::ChunkWriter;
use crate::log::{LogEntry, LogPage, LogQuery, MAX_UNATTRIBUTED};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use worker::js_sys::Promise;
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

type Outcome<T> = std::result::Result<T, String>;

#[wasm_bindgen]
extern "C" {
    /// A campaign object's stub, seen for its RPC method (see
    /// `campaign_object`).
    type CampaignRpc;

    #[wasm_bindgen(method, catch)]
    fn call(this: &CampaignRpc, target: &str, body: &str) -> std::result::Result<Promise, JsValue>;
}

/// Calls one of an object's routes over RPC: the route with its query, the
/// body as JSON; the answer as JSON (an empty answer reads as `null`).
async fn call<B: Serialize, T: DeserializeOwned>(
    env: &Env,
    object: &str,
    target: &str,
    body: Option<&B>,
) -> Outcome<T> {
    let json = match body {
        Some(body) => serde_json::to_string(body).map_err(|e| e.to_string())?,
        None => String::new(),
    };
    let text = call_with_text(env, object, target, &json).await?;
    if text.is_empty() {
        return serde_json::from_str("null").map_err(|e| e.to_string());
    }
    serde_json::from_str(&text).map_err(|e| format!("{object}{target} answered {text:?}: {e}"))
}

/// The same with the body already JSON text; the answer's text.
async fn call_with_text(env: &Env, object: &str, target: &str, body: &str) -> Outcome<String> {
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(object))
        .map_err(|e| e.to_string())?
        .into_rpc::<CampaignRpc>();
    let answer = match stub.call(target, body) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    }
    .map_err(|e| format!("{object}{target}: {}", super::platform::error_text(&e)))?;
    Ok(answer.as_string().unwrap_or_default())
}

/// Hands a submission to its campaign's object; its verdict.
pub async fn submit(env: &Env, submission: &Submission, dry_run: bool) -> Outcome<Verdict> {
    let path = if dry_run {
        "/decide?dry_run=1"
    } else {
        "/decide"
    };
    call(env, submission.campaign_id.as_str(), path, Some(submission)).await
}

/// Where an entry the edge writes belongs: its campaign's object if the
/// campaign exists, else the bounded unattributed log. Unknown campaigns
/// never get an object of their own.
pub fn log_destination(entry: &LogEntry, campaign_exists: bool) -> &str {
    match (&entry.campaign_id, campaign_exists) {
        (Some(campaign), true) => campaign,
        _ => UNATTRIBUTED,
    }
}

/// Writes a chunk of entries to one object's log.
pub async fn write_logs(env: &Env, object: String, chunk: ChunkWriter) -> Outcome<()> {
    let (meta, entries) = chunk.finish();
    let mut target = format!("/log?{}", meta.to_query());
    if object == UNATTRIBUTED {
        // LOG_UNATTRIBUTED_MAX lowers the bound (for tests); never raises it.
        let bound = env
            .var("LOG_UNATTRIBUTED_MAX")
            .ok()
            .and_then(|v| v.to_string().parse::<u32>().ok())
            .map_or(MAX_UNATTRIBUTED, |b| b.min(MAX_UNATTRIBUTED));
        target.push_str(&format!("&bound={bound}"));
    }
    call_with_text(env, &object, &target, &entries)
        .await
        .map(drop)
}

pub async fn query_log(env: &Env, object: &str, query: &LogQuery) -> Outcome<LogPage> {
    let target = format!("/log/query?{}", query.to_store_query());
    call::<(), _>(env, object, &target, None).await
}

pub async fn outbox_status(env: &Env, campaign: &str) -> Outcome<serde_json::Value> {
    call::<(), _>(env, campaign, "/outbox", None).await
}

/// Brings a campaign's parked messages back; how many.
pub async fn outbox_retry(env: &Env, campaign: &str) -> Outcome<u64> {
    // The object's own route: a GET, so that it shares the code of the
    // other reads (the public route is `POST /v1/outbox/retry`).
    let answer: serde_json::Value = call::<(), _>(env, campaign, "/outbox/retry", None).await?;
    Ok(answer.as_u64().unwrap_or(0))
}

pub fn unattributed() -> &'static str {
    UNATTRIBUTED
}
