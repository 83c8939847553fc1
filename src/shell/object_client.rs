//! The edge's calls to campaign objects, one RPC method per operation (see
//! `campaign_object`). Any failure to get an answer is an error string: the
//! caller answers `internal_error` or logs it.

use super::campaign_object::{BINDING, UNATTRIBUTED};
use crate::ledger::{Submission, Verdict};
use crate::log::chunk::ChunkWriter;
use crate::log::{LogPage, LogQuery, MAX_UNATTRIBUTED};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use worker::js_sys::Promise;
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

type Outcome<T> = std::result::Result<T, String>;

#[wasm_bindgen]
extern "C" {
    /// A campaign object's stub: its RPC methods, one per operation, as
    /// the class in `js/entry.mjs` exposes them.
    type CampaignStub;

    #[wasm_bindgen(method, catch)]
    fn submit(this: &CampaignStub, submission: &str, dry_run: bool) -> Result<Promise, JsValue>;

    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(method, catch, js_name = writeLog)]
    fn write_log(
        this: &CampaignStub,
        first_id: &str,
        last_id: &str,
        campaign: Option<String>,
        count: u32,
        codes: &str,
        entries: &str,
        bound: Option<u32>,
    ) -> Result<Promise, JsValue>;

    #[allow(clippy::too_many_arguments)]
    #[wasm_bindgen(method, catch, js_name = queryLog)]
    fn query_log(
        this: &CampaignStub,
        campaign_id: Option<String>,
        code: Option<String>,
        click_id: Option<String>,
        action_id: Option<String>,
        conversion_id: Option<String>,
        partner_id: Option<String>,
        since_id: Option<String>,
        before: Option<String>,
        limit: u32,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = outboxStatus)]
    fn outbox_status(this: &CampaignStub) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = outboxRetry)]
    fn outbox_retry(this: &CampaignStub) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = conversion)]
    fn conversion_of(this: &CampaignStub, id: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = stats)]
    fn stats_of(this: &CampaignStub) -> Result<Promise, JsValue>;
}

/// The stub of the object named `object`.
fn stub(env: &Env, object: &str) -> Outcome<CampaignStub> {
    env.durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(object))
        .map(|stub| stub.into_rpc::<CampaignStub>())
        .map_err(|e| e.to_string())
}

/// What an RPC call answered, once it settles.
async fn settle(object: &str, method: &str, call: Result<Promise, JsValue>) -> Outcome<JsValue> {
    let answer = match call {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    answer.map_err(|e| format!("{object}.{method}: {}", super::platform::error_text(&e)))
}

/// An answer that is JSON text, read.
fn json<T: DeserializeOwned>(object: &str, method: &str, answer: JsValue) -> Outcome<T> {
    let text = answer.as_string().unwrap_or_default();
    serde_json::from_str(&text).map_err(|e| format!("{object}.{method} answered {text:?}: {e}"))
}

fn to_json<T: Serialize>(value: &T) -> Outcome<String> {
    serde_json::to_string(value).map_err(|e| e.to_string())
}

/// Hands a submission to its campaign's object; its verdict.
pub async fn submit(env: &Env, submission: &Submission, dry_run: bool) -> Outcome<Verdict> {
    let object = submission.campaign_id.as_str();
    let stub = stub(env, object)?;
    let call = stub.submit(&to_json(submission)?, dry_run);
    json(object, "submit", settle(object, "submit", call).await?)
}

/// Writes a chunk of entries to the unattributed log's object.
pub async fn write_logs(env: &Env, object: String, chunk: ChunkWriter) -> Outcome<()> {
    let (meta, entries) = chunk.finish();
    // LOG_UNATTRIBUTED_MAX lowers the unattributed bound (for tests); never
    // raises it.
    let bound = (object == UNATTRIBUTED).then(|| {
        env.var("LOG_UNATTRIBUTED_MAX")
            .ok()
            .and_then(|v| v.to_string().parse::<u32>().ok())
            .map_or(MAX_UNATTRIBUTED, |b| b.min(MAX_UNATTRIBUTED))
    });
    let call = stub(env, &object)?.write_log(
        &meta.first_id,
        &meta.last_id,
        meta.campaign.clone(),
        meta.count,
        &meta.codes,
        &entries,
        bound,
    );
    settle(&object, "writeLog", call).await.map(drop)
}

/// The unattributed log's answer to a query.
pub async fn query_log(env: &Env, object: &str, query: &LogQuery) -> Outcome<LogPage> {
    let q = query.clone();
    let call = stub(env, object)?.query_log(
        q.campaign_id,
        q.code,
        q.click_id,
        q.action_id,
        q.conversion_id,
        q.partner_id,
        q.since_id,
        q.before,
        q.limit,
    );
    json(object, "queryLog", settle(object, "queryLog", call).await?)
}

pub async fn outbox_status(env: &Env, campaign: &str) -> Outcome<serde_json::Value> {
    let call = stub(env, campaign)?.outbox_status();
    json(
        campaign,
        "outboxStatus",
        settle(campaign, "outboxStatus", call).await?,
    )
}

/// Brings a campaign's parked messages back; how many.
pub async fn outbox_retry(env: &Env, campaign: &str) -> Outcome<u64> {
    let call = stub(env, campaign)?.outbox_retry();
    let answer = settle(campaign, "outboxRetry", call).await?;
    Ok(answer.as_f64().map_or(0, |n| n as u64))
}

/// What a campaign's object holds, as its `stats` says.
pub async fn stats(env: &Env, campaign: &str) -> Outcome<serde_json::Value> {
    let call = stub(env, campaign)?.stats_of();
    json(campaign, "stats", settle(campaign, "stats", call).await?)
}

/// The conversion `id` as its campaign's object knows it; `Null` if it
/// does not.
pub async fn conversion(env: &Env, campaign: &str, id: &str) -> Outcome<serde_json::Value> {
    let call = stub(env, campaign)?.conversion_of(id);
    json(
        campaign,
        "conversion",
        settle(campaign, "conversion", call).await?,
    )
}

pub fn unattributed() -> &'static str {
    UNATTRIBUTED
}
