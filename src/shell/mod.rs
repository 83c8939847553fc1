//! The wasm shell: moves requests and answers between HTTP, KV, the
//! campaign Durable Object and the core. It decides nothing; every rule it
//! applies is a call into the core.

mod admin;
mod campaign_object;
mod campaigns;
mod platform;

use crate::catalog::{BadRequest, Rejection};
use crate::click::ClickKey;
use crate::landing::ClickRequest;
use crate::params::{BodyKind, Params, MAX_BODY_BYTES};
use crate::postback::Postback;
use crate::reply::Reply;
use crate::route::{route, Route};
use crate::{edge, params};
use worker::{console_error, event, Context, Env, Headers, Method, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    platform::install_panic_hook();
    let reply = handle(req, &env).await;
    into_response(reply)
}

async fn handle(req: Request, env: &Env) -> Reply {
    let method = req.method().to_string();
    let path = req.path();
    match route(&method, &path) {
        Route::Health => Reply::text(200, "ok"),
        Route::Click => click(&req, env).await,
        Route::Postback => postback(req, env, false).await,
        Route::PostbackCheck => postback(req, env, true).await,
        Route::CampaignList => admin::list(&req, env).await,
        Route::Campaign(id) => {
            let id = id.to_owned();
            admin::campaign(req, env, &id).await
        }
        Route::NotFound => Reply::not_found(),
        Route::MethodNotAllowed(allow) => Reply::method_not_allowed(allow),
    }
}

fn into_response(reply: Reply) -> Result<Response> {
    let headers = Headers::new();
    headers.set("content-type", reply.content_type)?;
    headers.set("cache-control", "no-store")?;
    if let Some(location) = &reply.location {
        headers.set("location", location)?;
    }
    if let Some(allow) = reply.allow {
        headers.set("allow", allow)?;
    }
    if reply.status == 401 {
        headers.set("www-authenticate", "Basic realm=\"postback-edge\"")?;
    }
    Ok(Response::ok(reply.body)?
        .with_status(reply.status)
        .with_headers(headers))
}

fn click_key(env: &Env) -> Option<ClickKey> {
    let secret = env.secret("CLICK_SIGNING_KEY").ok()?.to_string();
    ClickKey::new(secret.as_bytes())
}

fn raw_query(req: &Request) -> String {
    req.url()
        .ok()
        .and_then(|u| u.query().map(str::to_owned))
        .unwrap_or_default()
}

async fn click(req: &Request, env: &Env) -> Reply {
    let request = match Params::from_query(&raw_query(req))
        .map_err(Into::into)
        .and_then(|p| ClickRequest::from_params(&p))
    {
        Ok(r) => r,
        Err(refusal) => return Reply::refused(&refusal),
    };
    let Some(key) = click_key(env) else {
        console_error!("CLICK_SIGNING_KEY is not set: clicks cannot be signed");
        return Reply::rejected(Rejection::InternalError);
    };
    let campaign = match campaigns::load(env, &request.campaign_id).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("loading campaign {}: {e}", request.campaign_id);
            return Reply::rejected(Rejection::InternalError);
        }
    };
    let now = u32::try_from(platform::now_seconds()).unwrap_or(u32::MAX);
    let country = platform::country(req);
    match request.redirect(campaign.as_deref(), &key, now, country, platform::nonce()) {
        Ok(url) => Reply::redirect(url),
        Err(rejection) => Reply::rejected(rejection),
    }
}

/// Reads the postback's parameters from the query and, for `POST`, the body.
async fn read_params(req: &mut Request) -> std::result::Result<Params, BadRequest> {
    let query = raw_query(req);
    if req.method() != Method::Post {
        return Params::from_query(&query);
    }
    let declared = req
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|l| l.parse::<usize>().ok());
    if declared.is_some_and(|l| l > MAX_BODY_BYTES) {
        return Err(BadRequest::new(
            "body",
            format!("is longer than {MAX_BODY_BYTES} bytes"),
        ));
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| BadRequest::new("body", "could not be read"))?;
    if body.is_empty() {
        return Params::from_query(&query);
    }
    let content_type = req
        .headers()
        .get("content-type")
        .ok()
        .flatten()
        .unwrap_or_default();
    let kind = BodyKind::from_content_type(&content_type).ok_or_else(|| {
        BadRequest::new(
            "Content-Type",
            "must be application/x-www-form-urlencoded or application/json",
        )
    })?;
    params::Params::from_post(&query, kind, &body)
}

async fn postback(mut req: Request, env: &Env, dry_run: bool) -> Reply {
    let postback = match read_params(&mut req).await.and_then(Postback::from_params) {
        Ok(p) => p,
        Err(bad) => return Reply::refused(&bad.into()),
    };
    let Some(key) = click_key(env) else {
        console_error!("CLICK_SIGNING_KEY is not set: click ids cannot be verified");
        return Reply::rejected(Rejection::InternalError);
    };
    let identified = match edge::identify(&postback, &key) {
        Ok(i) => i,
        Err(rejection) => return Reply::rejected(rejection),
    };
    let campaign = match campaigns::load(env, &identified.campaign_id).await {
        Ok(c) => c,
        Err(e) => {
            console_error!("loading campaign {}: {e}", identified.campaign_id);
            return Reply::rejected(Rejection::InternalError);
        }
    };
    let source = platform::source_ip(&req);
    let now = platform::now_seconds();
    let submission = match edge::admit(&identified, &postback, campaign.as_deref(), source, now) {
        Ok(s) => s,
        Err(rejection) => return Reply::rejected(rejection),
    };
    match campaign_object::submit(env, &submission, dry_run).await {
        Ok(verdict) => Reply::from_verdict(&verdict, dry_run),
        Err(e) => {
            console_error!("campaign object {}: {e}", submission.campaign_id);
            Reply::rejected(Rejection::InternalError)
        }
    }
}
