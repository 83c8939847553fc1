//! `GET /v1/conversions/{id}`: a conversion as the one object its id names
//! knows it, and its log entries (newest first; one page).

use super::campaign_api::read_query;
use super::log_reader::gather;
use super::object_client;
use super::tokens::forbidden;
use crate::log::{LogEntry, LogQuery, MAX_LIMIT};
use crate::lookup::ConversionView;
use crate::reply::Reply;
use crate::token::{Access, Reach};
use serde::Serialize;
use worker::Env;

/// The answer: the object's view, the campaign, the log entries.
#[derive(Serialize)]
struct Answer<'a> {
    #[serde(flatten)]
    view: &'a ConversionView,
    campaign_id: &'a str,
    log: &'a [LogEntry],
}

pub async fn conversion(access: &Access, raw: &str, env: &Env, id: &str) -> Reply {
    if let Err(bad) = read_query(raw) {
        return bad;
    }
    let not_found = || {
        Reply::error(
            404,
            "conversion_not_found",
            "No conversion has this id: check it against the postback's answer or the log.",
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
        campaigns: Some(vec![campaign.to_owned()]),
        unattributed: false,
    };
    let known = object_client::conversion(env, campaign, id);
    let entries = gather(env, &query, &reach, false);
    let (known, entries) = futures_util::future::join(known, entries).await;
    match (known, entries) {
        (Ok(None), _) => not_found(),
        (Ok(Some(view)), Ok(page)) => {
            let answer = Answer {
                view: &view,
                campaign_id: campaign,
                log: &page.entries,
            };
            match serde_json::to_string(&answer) {
                Ok(body) => Reply::json(200, body),
                Err(e) => super::error::Failure::new("writing a conversion", e).answer(),
            }
        }
        (Err(e), _) | (_, Err(e)) => e.during("reading a conversion").answer(),
    }
}
