//! The readers' views: `GET /v1/logs/postbacks` (JSON, or an export with
//! `format=csv|ndjson`) and `GET /logs/postbacks` (HTML), read from the
//! log's R2 bucket and the bounded unattributed log without waking any
//! campaign object; `GET /v1/conversions/{id}`, which asks the one object
//! the id names; `GET /v1/outbox` and `POST /v1/outbox/retry`, which ask
//! the campaigns' objects. A scoped token reads its campaigns only.

use super::join::join_all;
use super::tokens::forbidden;
use super::{log_bucket, object_client, platform, Answer};
use crate::admin::error_body;
use crate::catalog::{BadRequest, Refusal};
use crate::log::export::Format;
use crate::log::{merge, render_error_page, render_page, LogAnswer, LogPage, LogQuery, MAX_LIMIT};
use crate::params::Params;
use crate::reply::Reply;
use crate::timezone::Timezone;
use crate::token::{Access, Reach};
use serde_json::json;
use worker::js_sys::Uint8Array;
use worker::wasm_bindgen_futures::{spawn_local, JsFuture};
use worker::web_sys::{TransformStream, WritableStreamDefaultWriter};
use worker::{console_error, Env};

fn unavailable(what: &str, e: &str) -> Reply {
    console_error!("{what}: {e}");
    Reply::json(
        503,
        error_body("internal_error", "Storage failed while reading; retry."),
    )
}

/// A log request, read: the query, the parameters as given, the export
/// format, the zone times show in, where the reader may read.
struct LogRequest {
    query: LogQuery,
    /// The parameters as the reader typed them (the page shows them).
    typed: Params,
    format: Option<Format>,
    zone: Option<Timezone>,
    reach: Reach,
}

/// Reads a log request as `access` may make it: the filters (an unknown
/// one or a bad value is a `BadRequest`), narrowed by a click id or a
/// conversion id to where their entries can be, then the reader's scope
/// (a campaign it does not read is refused).
fn read_log_request(env: &Env, access: &Access, raw: &str) -> Result<LogRequest, Reply> {
    let bad = |bad: BadRequest| Reply::refused(&Refusal::BadRequest(bad));
    let params = Params::from_query(raw).map_err(bad)?;
    let mut query = LogQuery::from_params(&params).map_err(bad)?;
    let format = Format::from_params(&params).map_err(bad)?;
    let zone = crate::log::local_zone(&params).map_err(bad)?;
    let click = query.click_id.as_deref().and_then(|id| {
        let keys = super::postback::click_keys(env)?;
        crate::click::Click::verify(id, &keys).ok()
    });
    query.narrow(click.as_ref());
    let reach = access
        .log_reach(query.campaign_id.as_deref())
        .map_err(forbidden)?;
    Ok(LogRequest {
        query,
        typed: params,
        format,
        zone,
        reach,
    })
}

/// The entries for `query` where `reach` allows: the bucket's (one
/// listing of a campaign's prefix, or of the all-campaigns one, whatever
/// the number of campaigns that exist) and the unattributed log's, merged;
/// with the oldest time the counts reach when a listing stopped short.
async fn gather(
    env: &Env,
    query: &LogQuery,
    reach: &Reach,
    count: bool,
) -> Result<(LogPage, Option<u64>), String> {
    let now = platform::now_millis();
    let bucket = join_all(reach.campaigns.iter().map(|campaign| {
        let mut q = query.clone();
        q.campaign_id.clone_from(campaign);
        async move { log_bucket::query(env, &q, now, count).await }
    }));
    let unattributed = async {
        if reach.unattributed {
            object_client::query_log(env, object_client::unattributed(), query)
                .await
                .map(Some)
        } else {
            Ok(None)
        }
    };
    let (bucket, unattributed) = super::join::join(bucket, unattributed).await;
    let mut pages = Vec::with_capacity(bucket.len() + 1);
    let mut counted_since: Option<u64> = None;
    for answer in bucket {
        let (page, since) = answer?;
        pages.push(page);
        counted_since = counted_since.max(since);
    }
    pages.extend(unattributed?);
    Ok((merge(pages, query.limit), counted_since))
}

fn next_before(page: &LogPage, query: &LogQuery) -> Option<String> {
    (page.entries.len() == query.limit as usize)
        .then(|| page.entries.last().map(|e| e.id.clone()))
        .flatten()
}

pub async fn log_json(access: &Access, raw: &str, env: &Env) -> Answer {
    let request = match read_log_request(env, access, raw) {
        Ok(r) => r,
        Err(reply) => return reply.into(),
    };
    if let Some(format) = request.format {
        return export(env, request, format);
    }
    let query = &request.query;
    match gather(env, query, &request.reach, true).await {
        Ok((page, counted_since)) => {
            let next = next_before(&page, query);
            let answer = LogAnswer {
                entries: &page.entries,
                counts: &page.counts,
                next_before: next.as_deref(),
                counted_since: counted_since.map(crate::log::format_millis),
            };
            match serde_json::to_string(&answer) {
                Ok(body) => Reply::json(200, body).into(),
                Err(e) => unavailable("writing the log's answer", &e.to_string()).into(),
            }
        }
        Err(e) => unavailable("reading the postbacks log", &e).into(),
    }
}

/// Every entry `request` matches, streamed page by page (500 entries a
/// page, newest first) as CSV or NDJSON: the answer starts at once, and
/// the isolate holds one page at a time.
fn export(env: &Env, request: LogRequest, format: Format) -> Answer {
    let stream = match TransformStream::new() {
        Ok(s) => s,
        Err(e) => return unavailable("an export stream", &platform::error_text(&e)).into(),
    };
    let writer = match stream.writable().get_writer() {
        Ok(w) => w,
        Err(e) => return unavailable("an export stream", &platform::error_text(&e)).into(),
    };
    let campaign = request.query.campaign_id.clone();
    let env = env.clone();
    spawn_local(async move {
        if let Err(e) = write_export(&env, request, format, &writer).await {
            // The answer has started: all that is left is to end it
            // broken, so the reader knows the file is not whole.
            console_error!("exporting the postbacks log: {e}");
            let _ = JsFuture::from(writer.abort()).await;
            return;
        }
        let _ = JsFuture::from(writer.close()).await;
    });
    let name = format.file_name(campaign.as_deref(), platform::now_seconds());
    Answer::Streamed(
        Reply::download(format.content_type(), &name),
        stream.readable(),
    )
}

async fn write_export(
    env: &Env,
    request: LogRequest,
    format: Format,
    writer: &WritableStreamDefaultWriter,
) -> Result<(), String> {
    let write = |text: String| async move {
        if text.is_empty() {
            return Ok(());
        }
        let bytes = Uint8Array::from(text.as_bytes());
        JsFuture::from(writer.write_with_chunk(&bytes))
            .await
            .map(drop)
            .map_err(|e| platform::error_text(&e))
    };
    write(format.head()).await?;
    let mut query = request.query;
    query.limit = MAX_LIMIT;
    loop {
        let (page, _) = gather(env, &query, &request.reach, false).await?;
        let mut text = String::new();
        for entry in &page.entries {
            text.push_str(&format.line(entry));
        }
        write(text).await?;
        match next_before(&page, &query) {
            Some(last) => query.before = Some(last),
            None => return Ok(()),
        }
    }
}

pub async fn log_page(access: &Access, raw: &str, env: &Env) -> Reply {
    // The page answers its errors as a page, with the text a JSON answer
    // would give.
    let request = match read_log_request(env, access, raw) {
        Ok(r) => r,
        Err(reply) => return Reply::html(reply.status, render_error_page(&reply.body)),
    };
    let query = &request.query;
    match gather(env, query, &request.reach, true).await {
        Ok((page, _)) => {
            let since = request.typed.get("since").filter(|s| !s.is_empty());
            let next = next_before(&page, query).map(|last| query.next_page(&last, since));
            Reply::html(
                200,
                render_page(
                    &page,
                    query,
                    &request.typed,
                    request.zone.as_ref(),
                    next.as_deref(),
                ),
            )
        }
        Err(e) => {
            let reply = unavailable("reading the postbacks log", &e);
            Reply::html(reply.status, render_error_page(&reply.body))
        }
    }
}

/// `GET /v1/conversions/{id}`: the conversion as the object its id names
/// knows it, and its log entries (newest first; one page).
pub async fn conversion(access: &Access, raw: &str, env: &Env, id: &str) -> Reply {
    if let Err(bad) = super::admin::read_query(raw) {
        return bad;
    }
    let not_found = || {
        Reply::json(
            404,
            error_body(
                "conversion_not_found",
                "No conversion has this id: check it against the postback's answer or the log.",
            ),
        )
    };
    let Some(campaign) = crate::ledger::conversion_campaign(id) else {
        return not_found();
    };
    if !access.reads(campaign) {
        return forbidden(access.not_yours(campaign));
    }
    let query = LogQuery {
        campaign_id: Some(campaign.to_owned()),
        conversion_id: Some(id.to_owned()),
        limit: MAX_LIMIT,
        ..LogQuery::default()
    };
    let reach = Reach {
        campaigns: vec![query.campaign_id.clone()],
        unattributed: false,
    };
    let known = object_client::conversion(env, campaign, id);
    let entries = gather(env, &query, &reach, false);
    let (known, entries) = super::join::join(known, entries).await;
    match (known, entries) {
        (Ok(serde_json::Value::Null), _) => not_found(),
        (Ok(mut found), Ok((page, _))) => {
            found["campaign_id"] = json!(campaign);
            // The entries go in as text (see `LogAnswer`): the object's
            // closing brace gives way to them.
            let (Ok(log), Some(open)) = (
                serde_json::to_string(&page.entries),
                found.to_string().strip_suffix('}').map(str::to_owned),
            ) else {
                return unavailable("writing a conversion", "not an object");
            };
            Reply::json(200, format!("{open},\"log\":{log}}}"))
        }
        (Err(e), _) | (_, Err(e)) => unavailable("reading a conversion", &e),
    }
}

/// `GET /v1/outbox`: what waits for the origin, per campaign the reader
/// reads, asking only the objects that marked themselves in the bucket
/// after a failed delivery (one listing, whatever the number of
/// campaigns). A message on its way for the first time is not listed.
pub async fn outbox(access: &Access, raw: &str, env: &Env) -> Reply {
    if let Err(bad) = super::admin::read_query(raw) {
        return bad;
    }
    let ids = match log_bucket::outbox_marks(env).await {
        Ok(ids) => ids,
        Err(e) => return unavailable("listing outboxes", &e),
    };
    let ids: Vec<String> = ids.into_iter().filter(|id| access.reads(id)).collect();
    let statuses = join_all(ids.iter().map(|id| object_client::outbox_status(env, id))).await;
    let mut campaigns = Vec::new();
    let mut total = 0u64;
    for (id, status) in ids.iter().zip(statuses) {
        match status {
            Ok(mut s) => {
                let waiting = s["waiting"].as_u64().unwrap_or(0);
                if waiting > 0 {
                    total += waiting;
                    s["campaign_id"] = json!(id);
                    campaigns.push(s);
                }
            }
            Err(e) => return unavailable("reading an outbox", &e),
        }
    }
    Reply::json(
        200,
        json!({ "waiting": total, "campaigns": campaigns }).to_string(),
    )
}

/// `POST /v1/outbox/retry[?campaign_id=…]`: parked messages (retried for
/// three days without a 2xx) are tried again at once, for one campaign or
/// all.
pub async fn outbox_retry(raw: &str, env: &Env) -> Reply {
    let params = match super::admin::read_query(raw) {
        Ok(p) => p,
        Err(bad) => return bad,
    };
    let ids = match params.get("campaign_id").filter(|id| !id.is_empty()) {
        Some(id) => match crate::ids::CampaignId::parse(id) {
            Some(id) => vec![id.as_str().to_owned()],
            None => {
                return Reply::refused(&BadRequest::new("campaign_id", crate::ids::ID_RULE).into())
            }
        },
        // Parked messages failed many times: their campaigns are marked.
        None => match log_bucket::outbox_marks(env).await {
            Ok(ids) => ids,
            Err(e) => return unavailable("listing outboxes", &e),
        },
    };
    // One object after another: an operator's action, not a hot path.
    let mut campaigns = Vec::new();
    let mut total = 0u64;
    for id in &ids {
        match object_client::outbox_retry(env, id).await {
            Ok(0) => {}
            Ok(n) => {
                total += n;
                campaigns.push(json!({ "campaign_id": id, "requeued": n }));
            }
            Err(e) => return unavailable("requeuing an outbox", &e),
        }
    }
    Reply::json(
        200,
        json!({ "requeued": total, "campaigns": campaigns }).to_string(),
    )
}
