//! The wasm shell: moves requests and answers between HTTP, KV, the
//! campaign Durable Object and the core. It decides nothing; every rule it
//! applies is a call into the core.

mod admin;
mod campaign_object;
mod campaigns;
mod join;
mod kv;
mod log_queue;
mod logs;
mod object_client;
mod platform;
mod postback;

use crate::reply::Reply;
use crate::route::{route, Route};
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{event, Context, Env, Headers, Request, Response, Result};

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    platform::install_panic_hook();
    // The URL is read once, and split without a URL parser.
    let url = req.inner().url();
    let path = crate::route::path_of(&url);
    if path == TEST_PANIC_PATH && test_panic_route_enabled(&env) {
        panic!("the test-only panic route was called");
    }
    let reply = handle(req, &url, &env, &ctx).await;
    into_response(reply)
}

/// The body `js/entry.mjs` answers (with status 500) when the wasm crashes:
/// the catalog's `internal_error`, so an advertiser's client reads it as any
/// other retryable failure. The guard asks for it before it is needed.
#[wasm_bindgen(js_name = crashAnswer)]
pub fn crash_answer() -> String {
    Reply::rejected(crate::catalog::Rejection::InternalError).body
}

/// A route that panics, so the tests can prove a bug answers JSON. It
/// exists only when the `TEST_PANIC_ROUTE` var is `enabled`, which no
/// deployment sets (wrangler.toml does not).
const TEST_PANIC_PATH: &str = "/__test/panic";

fn test_panic_route_enabled(env: &Env) -> bool {
    env.var("TEST_PANIC_ROUTE")
        .is_ok_and(|v| v.to_string() == "enabled")
}

async fn handle(req: Request, url: &str, env: &Env, ctx: &Context) -> Reply {
    let method = req.inner().method();
    let query = crate::route::query_of(url);
    match route(&method, crate::route::path_of(url)) {
        Route::Health => Reply::text(200, "ok"),
        Route::Click => postback::click(&req, query, env).await,
        Route::Postback => postback::postback(req, &method, query, env, ctx, false).await,
        Route::PostbackCheck => postback::postback(req, &method, query, env, ctx, true).await,
        Route::CampaignList => admin::list(&req, env).await,
        Route::Campaign(id) => {
            let id = id.to_owned();
            admin::campaign(req, env, &id).await
        }
        Route::LogJson => logs::log_json(&req, query, env).await,
        Route::LogPage => logs::log_page(&req, query, env).await,
        Route::Outbox => logs::outbox(&req, env).await,
        Route::OutboxRetry => logs::outbox_retry(&req, query, env).await,
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
