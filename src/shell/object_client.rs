//! The edge's calls to Durable Objects over RPC: one typed method per
//! operation, each taking and answering JSON of a core type (see
//! `campaign_object` and `unattributed_log`; `js/entry.mjs` forwards each
//! from the classes the runtime knows).

use super::error::{Failure, Outcome};
use crate::ledger::{Submission, Verdict};
use crate::log::batch::UnattributedBatch;
use crate::log::{LogPage, StoreQuery};
use crate::lookup::{ConversionView, ObjectStats};
use crate::outbox::OutboxStatus;
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use worker::js_sys::Promise;
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

/// The namespace of campaign objects, one per campaign, named by its id.
pub const CAMPAIGNS: &str = "CAMPAIGN";
/// The namespace of the unattributed log's object (there is one).
pub const UNATTRIBUTED: &str = "UNATTRIBUTED";
/// The name of the unattributed log's object.
const UNATTRIBUTED_NAME: &str = "log";

#[wasm_bindgen]
extern "C" {
    /// A campaign object's stub: its RPC methods, as the class in
    /// `js/entry.mjs` exposes them.
    type CampaignStub;

    #[wasm_bindgen(method, catch)]
    fn submit(this: &CampaignStub, submission: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = outboxStatus)]
    fn outbox_status(this: &CampaignStub) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = outboxRetry)]
    fn outbox_retry(this: &CampaignStub) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn conversion(this: &CampaignStub, id: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn stats(this: &CampaignStub) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = legacyLog)]
    fn legacy_log(this: &CampaignStub) -> Result<Promise, JsValue>;

    /// The unattributed log's stub.
    type UnattributedStub;

    #[wasm_bindgen(method, catch)]
    fn write(this: &UnattributedStub, batch: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn query(this: &UnattributedStub, query: &str) -> Result<Promise, JsValue>;
}

fn stub<T: JsCast>(env: &Env, namespace: &str, name: &str) -> Outcome<T> {
    env.durable_object(namespace)
        .and_then(|ns| ns.get_by_name(name))
        .map(|stub| stub.into_rpc::<T>())
        .map_err(|e| Failure::new(format!("the Durable Object {namespace}/{name}"), e))
}

fn campaign(env: &Env, campaign: &str) -> Outcome<CampaignStub> {
    stub(env, CAMPAIGNS, campaign)
}

fn unattributed(env: &Env) -> Outcome<UnattributedStub> {
    stub(env, UNATTRIBUTED, UNATTRIBUTED_NAME)
}

/// What an RPC call answered, once it settles, read as the JSON of `T`.
async fn answer<T: DeserializeOwned>(
    object: &str,
    method: &str,
    call: Result<Promise, JsValue>,
) -> Outcome<T> {
    let doing = || format!("{object}.{method}");
    let answered = match call {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    let value = answered.map_err(|e| Failure::from(e).during(doing()))?;
    let text = value
        .as_string()
        .ok_or_else(|| Failure::new(doing(), "an answer that is not JSON text"))?;
    serde_json::from_str(&text).map_err(|e| Failure::new(doing(), format!("{e} in {text:?}")))
}

fn to_json<T: Serialize>(value: &T) -> Outcome<String> {
    serde_json::to_string(value).map_err(Failure::from)
}

/// Hands a submission to its campaign's object; its verdict.
pub async fn submit(env: &Env, submission: &Submission) -> Outcome<Verdict> {
    let id = submission.campaign_id.as_str();
    let call = campaign(env, id)?.submit(&to_json(submission)?);
    answer(id, "submit", call).await
}

/// What waits in a campaign's outbox.
pub async fn outbox_status(env: &Env, id: &str) -> Outcome<OutboxStatus> {
    let call = campaign(env, id)?.outbox_status();
    answer(id, "outboxStatus", call).await
}

/// Brings a campaign's parked messages back; how many.
pub async fn outbox_retry(env: &Env, id: &str) -> Outcome<u64> {
    let call = campaign(env, id)?.outbox_retry();
    answer(id, "outboxRetry", call).await
}

/// The conversion `conversion_id` as its campaign's object knows it;
/// `None` if it does not.
pub async fn conversion(
    env: &Env,
    id: &str,
    conversion_id: &str,
) -> Outcome<Option<ConversionView>> {
    let call = campaign(env, id)?.conversion(conversion_id);
    answer(id, "conversion", call).await
}

/// What a campaign's object holds and has cost.
pub async fn stats(env: &Env, id: &str) -> Outcome<ObjectStats> {
    let call = campaign(env, id)?.stats();
    answer(id, "stats", call).await
}

/// The entries the version before kept, for postbacks that named no valid
/// campaign, in the campaign object it named `~unattributed`, taken out of
/// it.
pub async fn legacy_unattributed(env: &Env) -> Outcome<Vec<crate::log::LogEntry>> {
    const LEGACY: &str = "~unattributed";
    let call = campaign(env, LEGACY)?.legacy_log();
    answer(LEGACY, "legacyLog", call).await
}

/// Stores entries in the unattributed log.
pub async fn write_unattributed(env: &Env, batch: &UnattributedBatch) -> Outcome<()> {
    let call = unattributed(env)?.write(&to_json(batch)?);
    answer(UNATTRIBUTED_NAME, "write", call).await
}

/// The unattributed log's answer to a query.
pub async fn query_unattributed(env: &Env, query: &StoreQuery) -> Outcome<LogPage> {
    let call = unattributed(env)?.query(&to_json(query)?);
    answer(UNATTRIBUTED_NAME, "query", call).await
}
