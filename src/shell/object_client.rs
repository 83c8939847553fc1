//! The edge's calls to campaign objects (see `campaign_object` for the
//! routes). Any failure to get an answer is an error string: the caller
//! answers `internal_error` or logs it.

use super::campaign_object::{BINDING, UNATTRIBUTED};
use crate::ledger::{Submission, Verdict};
use crate::log::{LogEntry, LogPage, LogQuery, MAX_UNATTRIBUTED};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::JsValue;
use worker::{web_sys, Env, Request};

type Outcome<T> = std::result::Result<T, String>;

async fn call<B: Serialize, T: DeserializeOwned>(
    env: &Env,
    object: &str,
    path: &str,
    body: Option<&B>,
) -> Outcome<T> {
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(object))
        .map_err(|e| e.to_string())?;
    // web-sys's RequestInit: the `worker` crate's converts through
    // serde-wasm-bindgen.
    let init = web_sys::RequestInit::new();
    if let Some(body) = body {
        let json = serde_json::to_string(body).map_err(|e| e.to_string())?;
        init.set_method("POST");
        init.set_body(&JsValue::from_str(&json));
    }
    let request =
        web_sys::Request::new_with_str_and_init(&format!("https://campaign.internal{path}"), &init)
            .map(Request::from)
            .map_err(|e| format!("{e:?}"))?;
    let mut response = stub
        .fetch_with_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let text = response.text().await.map_err(|e| e.to_string())?;
    if response.status_code() != 200 {
        return Err(format!(
            "{object}{path} answered {}: {text}",
            response.status_code()
        ));
    }
    if text.is_empty() {
        // Routes that answer nothing are read as JSON null.
        return serde_json::from_str("null").map_err(|e| e.to_string());
    }
    serde_json::from_str(&text).map_err(|e| format!("{object}{path} answered {text:?}: {e}"))
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
pub fn log_destination(entry: &LogEntry, campaign_exists: bool) -> String {
    match (&entry.campaign_id, campaign_exists) {
        (Some(campaign), true) => campaign.clone(),
        _ => UNATTRIBUTED.to_owned(),
    }
}

/// Writes a batch of entries to one object's log.
pub async fn write_logs(env: &Env, object: &str, entries: &[LogEntry]) -> Outcome<()> {
    if object == UNATTRIBUTED {
        // LOG_UNATTRIBUTED_MAX lowers the bound (for tests); never raises it.
        let bound = env
            .var("LOG_UNATTRIBUTED_MAX")
            .ok()
            .and_then(|v| v.to_string().parse::<u32>().ok())
            .map_or(MAX_UNATTRIBUTED, |b| b.min(MAX_UNATTRIBUTED));
        call(env, object, &format!("/log?bound={bound}"), Some(&entries)).await
    } else {
        call(env, object, "/log", Some(&entries)).await
    }
}

pub async fn query_log(env: &Env, object: &str, query: &LogQuery) -> Outcome<LogPage> {
    call(env, object, "/log/query", Some(query)).await
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
