//! `GET /v1/outbox` and `POST /v1/outbox/retry`: what waits for the origin,
//! from the objects of the campaigns listed as having deliveries waiting.
//!
//! An object lists itself once a delivery fails and unlists itself once
//! nothing waits ([`mark`]): a `outbox:{campaign}` key in the campaigns'
//! KV namespace, where no retention reaches it, so `GET /v1/outbox` costs
//! one listing and what waits, not the number of campaigns. The version
//! before listed them in the log's bucket (`o/{campaign}`), where the
//! bucket's retention could delete a mark while its messages were still
//! parked; such marks are moved here the first time they are read.

use super::campaign_api::read_query;
use super::campaigns::KV_BINDING;
use super::error::{Failure, Outcome};
use super::{kv, log_bucket, object_client};
use crate::catalog::BadRequest;
use crate::outbox::OutboxStatus;
use crate::reply::Reply;
use crate::token::Access;
use futures_util::future::join_all;
use serde::Serialize;
use worker::Env;

const MARK_PREFIX: &str = "outbox:";
const LEGACY_MARK_PREFIX: &str = "o/";
/// Most campaigns listed as waiting, read by one request.
const MAX_MARKS: usize = 100_000;

/// Lists (`waiting`) or unlists `campaign` as having deliveries waiting.
pub async fn mark(env: &Env, campaign: &str, waiting: bool) -> Outcome<()> {
    let kv = kv::namespace(env, KV_BINDING)?;
    let key = format!("{MARK_PREFIX}{campaign}");
    if waiting {
        kv.put(&key, "").await
    } else {
        kv.delete(&key).await
    }
}

/// The campaigns listed as having deliveries waiting; the bucket's marks
/// of the version before moved to KV on the way.
async fn marked(env: &Env) -> Outcome<Vec<String>> {
    let kv = kv::namespace(env, KV_BINDING)?;
    let mut campaigns = Vec::new();
    let mut cursor: Option<String> = None;
    while campaigns.len() < MAX_MARKS {
        let (names, next) = kv.list(MARK_PREFIX, cursor.as_deref()).await?;
        campaigns.extend(
            names
                .iter()
                .filter_map(|n| n.strip_prefix(MARK_PREFIX).map(str::to_owned)),
        );
        match next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let bucket = log_bucket::bucket(env)?;
    let legacy = bucket
        .list()
        .prefix(LEGACY_MARK_PREFIX)
        .execute()
        .await
        .map_err(|e| Failure::new("listing the bucket's outbox marks", e))?;
    for object in legacy.objects() {
        let key = object.key();
        let Some(campaign) = key.strip_prefix(LEGACY_MARK_PREFIX) else {
            continue;
        };
        kv.put(&format!("{MARK_PREFIX}{campaign}"), "").await?;
        bucket
            .delete(&key)
            .await
            .map_err(|e| Failure::new("moving an outbox mark", e))?;
        if !campaigns.iter().any(|c| c == campaign) {
            campaigns.push(campaign.to_owned());
        }
    }
    Ok(campaigns)
}

/// One campaign's line of `GET /v1/outbox`.
#[derive(Serialize)]
struct Waiting {
    #[serde(flatten)]
    status: OutboxStatus,
    campaign_id: String,
}

#[derive(Serialize)]
struct Listing {
    waiting: u64,
    campaigns: Vec<Waiting>,
}

/// `GET /v1/outbox`: what waits for the origin, per campaign the reader
/// reads. A message on its way for the first time is not listed.
pub async fn outbox(access: &Access, raw: &str, env: &Env) -> Reply {
    if let Err(bad) = read_query(raw) {
        return bad;
    }
    let ids = match marked(env).await {
        Ok(ids) => ids,
        Err(e) => return e.during("listing outboxes").answer(),
    };
    let ids: Vec<String> = ids.into_iter().filter(|id| access.reads(id)).collect();
    let statuses = join_all(ids.iter().map(|id| object_client::outbox_status(env, id))).await;
    let mut listing = Listing {
        waiting: 0,
        campaigns: Vec::new(),
    };
    for (id, status) in ids.into_iter().zip(statuses) {
        match status {
            Ok(status) if status.waiting > 0 => {
                listing.waiting += status.waiting;
                listing.campaigns.push(Waiting {
                    status,
                    campaign_id: id,
                });
            }
            Ok(_) => {}
            Err(e) => return e.during("reading an outbox").answer(),
        }
    }
    match serde_json::to_string(&listing) {
        Ok(body) => Reply::json(200, body),
        Err(e) => Failure::new("writing the outbox listing", e).answer(),
    }
}

#[derive(Serialize)]
struct Requeued {
    campaign_id: String,
    requeued: u64,
}

#[derive(Serialize)]
struct Retried {
    requeued: u64,
    campaigns: Vec<Requeued>,
}

/// `POST /v1/outbox/retry[?campaign_id=…]`: parked messages (retried for
/// three days without a 2xx) are tried again at once, for one campaign or
/// all.
pub async fn outbox_retry(raw: &str, env: &Env) -> Reply {
    let params = match read_query(raw) {
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
        // Parked messages failed many times: their campaigns are listed.
        None => match marked(env).await {
            Ok(ids) => ids,
            Err(e) => return e.during("listing outboxes").answer(),
        },
    };
    // One object after another: an operator's action, not a hot path.
    let mut retried = Retried {
        requeued: 0,
        campaigns: Vec::new(),
    };
    for id in ids {
        match object_client::outbox_retry(env, &id).await {
            Ok(0) => {}
            Ok(n) => {
                retried.requeued += n;
                retried.campaigns.push(Requeued {
                    campaign_id: id,
                    requeued: n,
                });
            }
            Err(e) => return e.during("requeuing an outbox").answer(),
        }
    }
    match serde_json::to_string(&retried) {
        Ok(body) => Reply::json(200, body),
        Err(e) => Failure::new("writing the retry's answer", e).answer(),
    }
}
