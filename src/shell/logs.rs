//! The operator's views: `GET /v1/logs/postbacks` (JSON) and `GET
//! /logs/postbacks` (HTML), read from the log's R2 bucket and the bounded
//! unattributed log, without waking any campaign object; `GET /v1/outbox`
//! and `POST /v1/outbox/retry`, which ask the campaigns' objects.

use super::join::{join, join_all};
use super::{admin, campaigns, log_bucket, object_client, platform};
use crate::admin::error_body;
use crate::catalog::Refusal;
use crate::log::{merge, render_page, LogPage, LogQuery};
use crate::params::Params;
use crate::reply::Reply;
use serde_json::json;
use worker::web_sys::Request;
use worker::{console_error, Env};

fn unavailable(what: &str, e: &str) -> Reply {
    console_error!("{what}: {e}");
    Reply::json(
        503,
        error_body("internal_error", "Storage failed while reading; retry."),
    )
}

/// The query and the `since` text as given.
fn read_query(env: &Env, raw: &str) -> Result<(LogQuery, Option<String>), Reply> {
    let params =
        Params::from_query(raw).map_err(|bad| Reply::refused(&Refusal::BadRequest(bad)))?;
    let mut query =
        LogQuery::from_params(&params).map_err(|bad| Reply::refused(&Refusal::BadRequest(bad)))?;
    let click = query.click_id.as_deref().and_then(|id| {
        let keys = super::postback::click_keys(env)?;
        crate::click::Click::verify(id, &keys).ok()
    });
    query.narrow(click.as_ref());
    let since = params
        .get("since")
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    Ok((query, since))
}

/// The entries for `query`: the bucket's (the named campaign's prefix, or
/// the all-campaigns one: one listing either way, whatever the number of
/// campaigns) and the unattributed log's, merged; with the oldest time the
/// counts reach when a query's listings stopped short of its range.
async fn gather(env: &Env, query: &LogQuery) -> Result<(LogPage, Option<u64>), String> {
    let bucket = log_bucket::query(env, query, platform::now_millis());
    let unattributed = object_client::query_log(env, object_client::unattributed(), query);
    let (bucket, unattributed) = join(bucket, unattributed).await;
    let (page, counted_since) = bucket?;
    Ok((merge(vec![page, unattributed?], query.limit), counted_since))
}

fn next_before(page: &LogPage, query: &LogQuery) -> Option<String> {
    (page.entries.len() == query.limit as usize)
        .then(|| page.entries.last().map(|e| e.id.clone()))
        .flatten()
}

pub async fn log_json(req: &Request, raw: &str, env: &Env) -> Reply {
    if let Some(denied) = admin::check_token(req, env) {
        return denied;
    }
    let (query, _) = match read_query(env, raw) {
        Ok(q) => q,
        Err(reply) => return reply,
    };
    match gather(env, &query).await {
        Ok((page, counted_since)) => {
            let next = next_before(&page, &query);
            let mut body =
                json!({ "entries": page.entries, "counts": page.counts, "next_before": next });
            if let Some(ms) = counted_since {
                body["counted_since"] = json!(crate::log::format_millis(ms));
            }
            Reply::json(200, body.to_string())
        }
        Err(e) => unavailable("reading the postbacks log", &e),
    }
}

pub async fn log_page(req: &Request, raw: &str, env: &Env) -> Reply {
    if let Some(denied) = admin::check_token(req, env) {
        return denied;
    }
    let (query, since) = match read_query(env, raw) {
        Ok(q) => q,
        Err(reply) => return reply,
    };
    match gather(env, &query).await {
        Ok((page, _)) => {
            let next =
                next_before(&page, &query).map(|last| query.next_page(&last, since.as_deref()));
            Reply::html(
                200,
                render_page(&page, &query, since.as_deref(), next.as_deref()),
            )
        }
        Err(e) => unavailable("reading the postbacks log", &e),
    }
}

pub async fn outbox(req: &Request, raw: &str, env: &Env) -> Reply {
    if let Some(denied) = admin::check_token(req, env) {
        return denied;
    }
    if let Err(bad) = admin::read_query(raw) {
        return bad;
    }
    let ids = match campaigns::list_ids(env).await {
        Ok(ids) => ids,
        Err(e) => return unavailable("listing campaigns", &e),
    };
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
pub async fn outbox_retry(req: &Request, raw: &str, env: &Env) -> Reply {
    if let Some(denied) = admin::check_token(req, env) {
        return denied;
    }
    let params = match admin::read_query(raw) {
        Ok(p) => p,
        Err(bad) => return bad,
    };
    let ids = match params.get("campaign_id").filter(|id| !id.is_empty()) {
        Some(id) => match crate::ids::CampaignId::parse(id) {
            Some(id) => vec![id.as_str().to_owned()],
            None => {
                return Reply::refused(
                    &crate::catalog::BadRequest::new("campaign_id", crate::ids::ID_RULE).into(),
                )
            }
        },
        None => match campaigns::list_ids(env).await {
            Ok(ids) => ids,
            Err(e) => return unavailable("listing campaigns", &e),
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
