//! The wasm shell: moves requests and answers between HTTP, KV, the
//! campaign Durable Object and the core. It decides nothing; every rule it
//! applies is a call into the core.

mod admin;
mod campaign_object;
mod campaigns;
mod eager;
mod join;
mod kv;
mod log_queue;
mod logs;
mod object_client;
mod platform;
mod postback;

use crate::reply::Reply;
use crate::route::{route, Route};
use wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use worker::{web_sys, worker_sys, Context, Env};

/// The worker's fetch handler, called by `js/entry.mjs` (through
/// worker-build's glue, which passes `env` and `ctx`): the answer, which
/// the entry makes a `Response` of — its number when it is the same on
/// every request (`Reply::same_every_time`), else its `Reply::to_wire`
/// string — or, when it had to wait for something, a `Promise` of one
/// (see `eager`).
///
/// Not the `worker` crate's `#[event(fetch)]`: that one reads the method,
/// URL, headers and `cf` object of every request into its own `Request`,
/// and builds the answer with a call into JavaScript per header, for some
/// ten crossings between wasm and JavaScript that a postback does not need.
#[wasm_bindgen]
pub fn fetch(req: web_sys::Request, env: Env, ctx: worker_sys::Context) -> JsValue {
    eager::now_or_later(async move {
        // The URL is read once, and split without a URL parser.
        let url = req.url();
        let path = crate::route::path_of(&url);
        if path == TEST_PANIC_PATH && test_panic_route_enabled(&env) {
            if crate::route::query_of(&url) == "later" {
                // After an await: the panic then happens in a microtask.
                let tick = worker::js_sys::Promise::resolve(&JsValue::UNDEFINED);
                let _ = worker::wasm_bindgen_futures::JsFuture::from(tick).await;
            }
            panic!("the test-only panic route was called");
        }
        let reply = handle(req, &url, &env, &Context::new(ctx)).await;
        match reply.same_every_time() {
            Some(number) => JsValue::from(number),
            None => JsValue::from(reply.to_wire()),
        }
    })
}

/// The answer numbered `number` by `Reply::same_every_time`, in
/// `Reply::to_wire`'s form: the guard asks once per isolate and number.
#[wasm_bindgen(js_name = numberedAnswer)]
pub fn numbered_answer(number: u8) -> String {
    Reply::numbered(number)
        .unwrap_or_else(|| Reply::rejected(crate::catalog::Rejection::InternalError))
        .to_wire()
}

/// A route that panics, so the tests can prove a bug answers JSON; with
/// the query `later`, after an await (the panic happens in a microtask). It
/// exists only when the `TEST_PANIC_ROUTE` var is `enabled`, which no
/// deployment sets (wrangler.toml does not).
const TEST_PANIC_PATH: &str = "/__test/panic";

fn test_panic_route_enabled(env: &Env) -> bool {
    env.var("TEST_PANIC_ROUTE")
        .is_ok_and(|v| v.to_string() == "enabled")
}

async fn handle(req: web_sys::Request, url: &str, env: &Env, ctx: &Context) -> Reply {
    let method = req.method();
    let query = crate::route::query_of(url);
    match route(&method, crate::route::path_of(url)) {
        Route::Health => Reply::health(),
        Route::Click => postback::click(&req, query, env).await,
        Route::Postback => postback::postback(req, &method, query, env, ctx, false).await,
        Route::PostbackCheck => postback::postback(req, &method, query, env, ctx, true).await,
        Route::CampaignList => admin::list(&req, query, env).await,
        Route::Campaign(id) => admin::campaign(&req, &method, query, env, id).await,
        Route::LogJson => logs::log_json(&req, query, env).await,
        Route::LogPage => logs::log_page(&req, query, env).await,
        Route::Outbox => logs::outbox(&req, query, env).await,
        Route::OutboxRetry => logs::outbox_retry(&req, query, env).await,
        Route::NotFound => Reply::not_found(),
        Route::MethodNotAllowed(allow) => Reply::method_not_allowed(allow),
    }
}
