//! The campaign admin API: `PUT|GET|DELETE /v1/campaigns/{id}`,
//! `GET /v1/campaigns` and `GET /v1/campaigns/{id}/stats`, behind the
//! admin token.

use super::campaigns::{self, KV_BINDING};
use super::error::Failure;
use super::platform;
use crate::campaign::MAX_CONFIG_BYTES;
use crate::campaign::{Campaign, ConfigError};
use crate::catalog::Refusal;
use crate::ids::{CampaignId, ID_RULE};
use crate::params::Params;
use crate::reply::Reply;
use serde::Serialize;
use serde_json::json;
use worker::web_sys::Request;
use worker::Env;

/// The parameters of an operator's request, or the 400 that names what
/// cannot be read: an unreadable query never stands for "no parameters".
pub fn read_query(raw: &str) -> Result<Params, Reply> {
    Params::from_query(raw).map_err(|bad| Reply::refused(&Refusal::BadRequest(bad)))
}

pub async fn list(query: &str, env: &Env) -> Reply {
    if let Err(bad) = read_query(query) {
        return bad;
    }
    match campaigns::list_ids(env).await {
        Ok(ids) => Reply::json(200, json!({ "campaigns": ids }).to_string()),
        Err(e) => e.during("listing campaigns").answer(),
    }
}

pub async fn campaign(req: &Request, method: &str, query: &str, env: &Env, id: &str) -> Reply {
    if let Err(bad) = read_query(query) {
        return bad;
    }
    let Some(id) = CampaignId::parse(id) else {
        return Reply::invalid_config(&ConfigError {
            field: "id".to_owned(),
            problem: ID_RULE.to_owned(),
        });
    };
    let kv = match super::kv::namespace(env, KV_BINDING) {
        Ok(kv) => kv,
        Err(e) => return e.answer(),
    };
    let key = campaigns::kv_key(&id);
    let not_found = || Reply::error(404, "campaign_not_found", "Campaign not found");
    match method {
        "GET" => match kv.text(&key).await {
            Ok(Some(config)) => Reply::json(200, config),
            Ok(None) => not_found(),
            Err(e) => e.during("reading a campaign").answer(),
        },
        "DELETE" => match kv.text(&key).await {
            Ok(None) => not_found(),
            Err(e) => e.during("reading a campaign").answer(),
            Ok(Some(_)) => match kv.delete(&key).await {
                Ok(()) => {
                    campaigns::forget(&id);
                    Reply::json(200, json!({ "status": "deleted", "id": id }).to_string())
                }
                Err(e) => e.during("deleting a campaign").answer(),
            },
        },
        _ => {
            let body = match platform::read_body(req, MAX_CONFIG_BYTES).await {
                Ok(b) => b,
                Err(platform::BodyError::TooLong) => {
                    return Reply::invalid_config(&ConfigError {
                        field: "(config)".to_owned(),
                        problem: format!("is longer than {MAX_CONFIG_BYTES} bytes"),
                    })
                }
                Err(platform::BodyError::Unreadable) => {
                    return Reply::invalid_config(&ConfigError {
                        field: "(config)".to_owned(),
                        problem: "could not be read: send it again".to_owned(),
                    })
                }
            };
            let text = String::from_utf8_lossy(&body);
            let campaign = match Campaign::from_json(&text) {
                Ok(c) => c,
                Err(e) => return Reply::invalid_config(&e),
            };
            if *campaign.id() != id {
                return Reply::invalid_config(&ConfigError {
                    field: "id".to_owned(),
                    problem: format!("must equal the id in the URL ({id})"),
                });
            }
            match kv.put(&key, &text).await {
                Ok(()) => {
                    campaigns::forget(&id);
                    Reply::json(200, json!({ "status": "stored", "id": id }).to_string())
                }
                Err(e) => e.during("storing a campaign").answer(),
            }
        }
    }
}

/// `GET /v1/campaigns/{id}/stats`: what the campaign's object holds and
/// has cost since it started (`lookup::ObjectStats`). Asks the object even
/// for a deleted campaign, whose object keeps its conversions.
pub async fn stats(query: &str, env: &Env, id: &str) -> Reply {
    #[derive(Serialize)]
    struct Answer {
        #[serde(flatten)]
        stats: crate::lookup::ObjectStats,
        campaign_id: String,
    }
    if let Err(bad) = read_query(query) {
        return bad;
    }
    let Some(id) = CampaignId::parse(id) else {
        return Reply::refused(&crate::catalog::BadRequest::new("id", ID_RULE).into());
    };
    match super::object_client::stats(env, id.as_str()).await {
        Ok(stats) => {
            let answer = Answer {
                stats,
                campaign_id: id.as_str().to_owned(),
            };
            match serde_json::to_string(&answer) {
                Ok(body) => Reply::json(200, body),
                Err(e) => Failure::new("writing the stats", e).answer(),
            }
        }
        Err(e) => e.during("reading the campaign object's stats").answer(),
    }
}
