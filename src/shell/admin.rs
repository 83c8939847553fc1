//! The campaign admin API: `PUT|GET|DELETE /v1/campaigns/{id}` and
//! `GET /v1/campaigns`, behind the admin token.

use super::campaigns::{self, KV_BINDING};
use super::platform;
use crate::admin::{error_body, invalid_config_body};
use crate::campaign::MAX_CONFIG_BYTES;
use crate::campaign::{Campaign, ConfigError};
use crate::catalog::Refusal;
use crate::ids::{CampaignId, ID_RULE};
use crate::params::Params;
use crate::reply::Reply;
use serde_json::json;
use worker::web_sys::Request;
use worker::{console_error, Env};

/// The parameters of an operator's request, or the 400 that names what
/// cannot be read: an unreadable query never stands for "no parameters".
pub fn read_query(raw: &str) -> Result<Params, Reply> {
    Params::from_query(raw).map_err(|bad| Reply::refused(&Refusal::BadRequest(bad)))
}

fn storage_failed(what: &str, e: impl std::fmt::Display) -> Reply {
    console_error!("{what}: {e}");
    Reply::json(
        503,
        error_body(
            "internal_error",
            "Campaign storage failed; nothing was changed. Retry.",
        ),
    )
}

pub async fn list(query: &str, env: &Env) -> Reply {
    if let Err(bad) = read_query(query) {
        return bad;
    }
    match campaigns::list_ids(env).await {
        Ok(ids) => Reply::json(200, json!({ "campaigns": ids }).to_string()),
        Err(e) => storage_failed("KV list", e),
    }
}

pub async fn campaign(req: &Request, method: &str, query: &str, env: &Env, id: &str) -> Reply {
    if let Err(bad) = read_query(query) {
        return bad;
    }
    let Some(id) = CampaignId::parse(id) else {
        return Reply::json(
            400,
            invalid_config_body(&ConfigError {
                field: "id".to_owned(),
                problem: ID_RULE.to_owned(),
            }),
        );
    };
    let kv = match super::kv::namespace(env, KV_BINDING) {
        Ok(kv) => kv,
        Err(e) => return storage_failed("KV binding", e),
    };
    let key = campaigns::kv_key(&id);
    let not_found = || Reply::json(404, error_body("campaign_not_found", "Campaign not found"));
    match method {
        "GET" => match kv.text(&key).await {
            Ok(Some(config)) => Reply::json(200, config),
            Ok(None) => not_found(),
            Err(e) => storage_failed("KV get", e),
        },
        "DELETE" => match kv.text(&key).await {
            Ok(None) => not_found(),
            Err(e) => storage_failed("KV get", e),
            Ok(Some(_)) => match kv.delete(&key).await {
                Ok(()) => {
                    campaigns::forget(&id);
                    Reply::json(200, json!({ "status": "deleted", "id": id }).to_string())
                }
                Err(e) => storage_failed("KV delete", e),
            },
        },
        _ => {
            let body = match platform::read_body(req, MAX_CONFIG_BYTES).await {
                Ok(b) => b,
                Err(platform::BodyError::TooLong) => {
                    return Reply::json(
                        400,
                        invalid_config_body(&ConfigError {
                            field: "(config)".to_owned(),
                            problem: format!("is longer than {MAX_CONFIG_BYTES} bytes"),
                        }),
                    )
                }
                Err(platform::BodyError::Unreadable) => {
                    return Reply::json(
                        400,
                        invalid_config_body(&ConfigError {
                            field: "(config)".to_owned(),
                            problem: "could not be read: send it again".to_owned(),
                        }),
                    )
                }
            };
            let text = String::from_utf8_lossy(&body);
            let campaign = match Campaign::from_json(&text) {
                Ok(c) => c,
                Err(e) => return Reply::json(400, invalid_config_body(&e)),
            };
            if *campaign.id() != id {
                return Reply::json(
                    400,
                    invalid_config_body(&ConfigError {
                        field: "id".to_owned(),
                        problem: format!("must equal the id in the URL ({id})"),
                    }),
                );
            }
            match kv.put(&key, &text).await {
                Ok(()) => {
                    campaigns::forget(&id);
                    Reply::json(200, json!({ "status": "stored", "id": id }).to_string())
                }
                Err(e) => storage_failed("KV put", e),
            }
        }
    }
}

/// `GET /v1/campaigns/{id}/stats`: what the campaign's object holds
/// (conversions remembered, pending ones, outbox rows, database bytes).
/// Asks the object even for a deleted campaign, whose object keeps its
/// conversions.
pub async fn stats(query: &str, env: &Env, id: &str) -> Reply {
    if let Err(bad) = read_query(query) {
        return bad;
    }
    let Some(id) = CampaignId::parse(id) else {
        return Reply::refused(&crate::catalog::BadRequest::new("id", ID_RULE).into());
    };
    match super::object_client::stats(env, id.as_str()).await {
        Ok(mut stats) => {
            stats["campaign_id"] = json!(id);
            Reply::json(200, stats.to_string())
        }
        Err(e) => storage_failed("campaign object stats", e),
    }
}
