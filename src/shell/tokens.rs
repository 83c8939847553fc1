//! Who a request is (`authenticate`: an admin token, or a scoped token
//! found by its hash in KV), and the scoped tokens' API: `POST`, `GET
//! /v1/tokens` and `DELETE /v1/tokens/{name}`, admin only.

use super::campaigns::KV_BINDING;
use super::error::{Failure, Outcome};
use super::kv::{namespace, KvNamespace};
use super::platform;
use crate::auth::{authorized, credential};
use crate::catalog::Refusal;
use crate::reply::Reply;
use crate::token::{self, Access, Forbidden, Scoped};
use serde_json::json;
use worker::web_sys::Request;
use worker::Env;

fn unauthorized() -> Reply {
    Reply::error(
        401,
        "unauthorized",
        "Send the admin token, or a token made with POST /v1/tokens, as `Authorization: Bearer <token>`.",
    )
}

pub fn forbidden(Forbidden(why): Forbidden) -> Reply {
    Reply::error(403, "forbidden", &why)
}

/// Who sent `req`: the admin (one of `ADMIN_TOKEN`'s tokens, compared in
/// constant time), or a scoped token (looked up by its hash: one KV read,
/// only for a credential shaped like one); else the 401 answer.
pub async fn authenticate(req: &Request, env: &Env) -> Result<Access, Reply> {
    let header = platform::header(req, "authorization");
    let admin = env.secret("ADMIN_TOKEN").ok().map(|t| t.to_string());
    if authorized(header.as_deref(), admin.as_deref()) {
        return Ok(Access::Admin);
    }
    let Some(given) = header.as_deref().and_then(credential) else {
        return Err(unauthorized());
    };
    if !token::looks_scoped(&given) {
        return Err(unauthorized());
    }
    let kv = namespace(env, KV_BINDING).map_err(|e| e.answer())?;
    match kv.text(&token::key(&given)).await {
        Ok(Some(stored)) => match Scoped::from_json(&stored) {
            Ok(scoped) => Ok(Access::Scoped(scoped)),
            Err(e) => Err(Failure::new("a stored token", e.message()).answer()),
        },
        Ok(None) => Err(unauthorized()),
        Err(e) => Err(e.during("reading a token").answer()),
    }
}

/// Every stored token, with its KV key (a few: listing reads them all).
async fn stored(kv: &KvNamespace) -> Outcome<Vec<(String, Scoped)>> {
    let mut keys = Vec::new();
    let mut cursor = None;
    loop {
        let (names, next) = kv.list(token::KEY_PREFIX, cursor.as_deref()).await?;
        keys.extend(names);
        match next {
            Some(next) if keys.len() < token::MAX_TOKENS => cursor = Some(next),
            _ => break,
        }
    }
    let values = futures_util::future::join_all(keys.iter().map(|k| kv.text(k))).await;
    let mut tokens = Vec::with_capacity(keys.len());
    for (key, value) in keys.into_iter().zip(values) {
        if let Some(text) = value? {
            let scoped = Scoped::from_json(&text)
                .map_err(|e| Failure::new(format!("the stored token {key}"), e.message()))?;
            tokens.push((key, scoped));
        }
    }
    tokens.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    Ok(tokens)
}

/// What both token routes start with: the query read (nothing is
/// expected), the namespace, and every stored token.
async fn open(query: &str, env: &Env) -> Result<(KvNamespace, Vec<(String, Scoped)>), Reply> {
    super::campaign_api::read_query(query)?;
    let kv = namespace(env, KV_BINDING).map_err(|e| e.answer())?;
    let existing = stored(&kv)
        .await
        .map_err(|e| e.during("listing tokens").answer())?;
    Ok((kv, existing))
}

/// `POST /v1/tokens` and `GET /v1/tokens` (the router admits admins only).
pub async fn tokens(req: &Request, method: &str, query: &str, env: &Env) -> Reply {
    let (kv, existing) = match open(query, env).await {
        Ok(opened) => opened,
        Err(reply) => return reply,
    };
    if method == "GET" {
        let list: Vec<serde_json::Value> = existing.iter().map(|(_, s)| s.to_value()).collect();
        return Reply::json(200, json!({ "tokens": list }).to_string());
    }
    let body = match platform::read_body(req, 16 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            return Reply::refused(&Refusal::BadRequest(crate::catalog::BadRequest::new(
                "(body)",
                "must be JSON of at most 16 KiB",
            )))
        }
    };
    let scoped = match Scoped::from_json(&String::from_utf8_lossy(&body)) {
        Ok(s) => s,
        Err(bad) => return Reply::refused(&Refusal::BadRequest(bad)),
    };
    if existing.iter().any(|(_, s)| s.name == scoped.name) {
        return Reply::error(
            409,
            "token_exists",
            "A token has this name: delete it first, or choose another name.",
        );
    }
    if existing.len() >= token::MAX_TOKENS {
        return Reply::error(409, "too_many_tokens", "Delete unused tokens first.");
    }
    let secret = token::mint(platform::random_bytes());
    let mut shown = scoped.to_value();
    match kv.put(&token::key(&secret), &shown.to_string()).await {
        Ok(()) => {
            // Shown this once: the store keeps only its hash.
            shown["token"] = json!(secret);
            Reply::json(201, shown.to_string())
        }
        Err(e) => e.during("storing a token").answer(),
    }
}

/// `DELETE /v1/tokens/{name}`: revoked at once.
pub async fn delete(query: &str, env: &Env, name: &str) -> Reply {
    let (kv, existing) = match open(query, env).await {
        Ok(opened) => opened,
        Err(reply) => return reply,
    };
    let Some((key, _)) = existing.iter().find(|(_, s)| s.name == name) else {
        return Reply::error(404, "token_not_found", "No token has this name.");
    };
    match kv.delete(key).await {
        Ok(()) => Reply::json(
            200,
            json!({ "status": "deleted", "name": name }).to_string(),
        ),
        Err(e) => e.during("deleting a token").answer(),
    }
}
