//! The wasm shell: moves requests and answers between HTTP, KV, the
//! Durable Objects, the log's queue and bucket, and the core. It decides
//! nothing; every rule it applies is a call into the core.

mod campaign_api;
mod campaign_object;
mod campaigns;
mod conversions;
mod error;
mod kv;
mod log_bucket;
mod log_consumer;
mod log_queue;
mod log_reader;
mod log_routes;
mod object_client;
mod outbox;
mod platform;
mod postback;
mod sql;
mod tokens;
mod unattributed_log;

use crate::reply::Reply;
use crate::route::{route, Guard, Route};
use crate::token::Access;
use std::cell::RefCell;
use std::future::Future;
use std::task::Poll;
use wasm_bindgen::prelude::{wasm_bindgen, JsValue};
// The async export's glue, as worker-build's release build expands it,
// names `js_sys` by that path.
#[allow(unused_imports)]
use worker::js_sys;
use worker::{web_sys, worker_sys, Context, Env};

/// The worker's fetch handler: worker-build's entrypoint calls it with the
/// request, `env` and `ctx`, as it calls the `worker` crate's
/// `#[event(fetch)]`. Written by hand rather than with that macro, which
/// converts every request into the crate's own `Request` (method, URL,
/// headers and the `cf` object read up front) though most postbacks read
/// only the URL.
///
/// It answers a `Response` when the answer is ready at once, a `Promise`
/// of one only when it waits for something (KV, an object, a body): most
/// answers (`/healthz`, any edge rejection of a cached campaign) wait for
/// nothing, and handing those to the futures executor would cost a
/// microtask and a promise each for no await. The handler is polled once
/// here; if it waits, the executor polls it again with its own waker
/// (a future is woken by the waker of its latest poll).
#[wasm_bindgen(unchecked_return_type = "Response | Promise<Response>")]
pub fn fetch(
    req: web_sys::Request,
    env: Env,
    ctx: worker_sys::Context,
) -> Result<JsValue, JsValue> {
    let mut answer = Box::pin(serve(req, env, ctx));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match answer.as_mut().poll(&mut cx) {
        Poll::Ready(response) => response.map(JsValue::from),
        Poll::Pending => Ok(worker::wasm_bindgen_futures::future_to_promise(async move {
            answer.await.map(JsValue::from)
        })
        .into()),
    }
}

async fn serve(
    req: web_sys::Request,
    env: Env,
    ctx: worker_sys::Context,
) -> Result<web_sys::Response, JsValue> {
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
    let answer = handle(req, &url, &env, &Context::new(ctx)).await;
    response(answer)
}

/// The log queue's consumer: worker-build's entrypoint calls it with the
/// batch, `env` and `ctx`, as it calls the `worker` crate's
/// `#[event(queue)]`.
#[wasm_bindgen(wasm_bindgen_futures = worker::wasm_bindgen_futures)]
pub async fn queue(
    batch: log_consumer::QueueBatch,
    env: Env,
    _ctx: worker_sys::Context,
) -> Result<(), JsValue> {
    log_consumer::consume(batch, &env).await;
    Ok(())
}

/// What a handler answers: a whole `Reply`, or a `Reply`'s head with a
/// body streamed after it (a log export).
pub enum Answer {
    Whole(Reply),
    Streamed(Reply, web_sys::ReadableStream),
}

impl From<Reply> for Answer {
    fn from(reply: Reply) -> Answer {
        Answer::Whole(reply)
    }
}

/// The `Response` of an answer: the one place one is made.
fn response(answer: Answer) -> Result<web_sys::Response, JsValue> {
    match answer {
        Answer::Whole(reply) => {
            let reply = reply.checked();
            let (body, init) = response_parts(&reply)?;
            web_sys::Response::new_with_opt_str_and_init(body, &init)
        }
        Answer::Streamed(head, body) => {
            let checked = head.clone().checked();
            if checked != head {
                return response(Answer::Whole(checked));
            }
            let (_, init) = response_parts(&head)?;
            web_sys::Response::new_with_opt_readable_stream_and_init(Some(&body), &init)
        }
    }
}

/// An answer's body (none for a redirect) and its status and headers.
fn response_parts(reply: &Reply) -> Result<(Option<&str>, web_sys::ResponseInit), JsValue> {
    let body = (reply.status != 302).then_some(reply.body.as_str());
    let headers = reply.headers();
    if let [("content-type", _), ("cache-control", _)] = headers[..] {
        return Ok((body, common_init(reply.status, reply.content_type)?));
    }
    Ok((body, response_init(reply.status, &headers)?))
}

thread_local! {
    /// The status and headers of the answers that carry only the common
    /// two (every postback's, `/healthz`'s), by status and type, made once
    /// per isolate: `new Response` copies its init, so one serves every
    /// answer alike, and making it is most of what building a small
    /// Response costs.
    static COMMON_INITS: RefCell<Vec<(u16, &'static str, web_sys::ResponseInit)>> =
        const { RefCell::new(Vec::new()) };
}

fn common_init(status: u16, content_type: &'static str) -> Result<web_sys::ResponseInit, JsValue> {
    let known = COMMON_INITS.with(|inits| {
        inits
            .borrow()
            .iter()
            .find(|(s, t, _)| *s == status && *t == content_type)
            .map(|(_, _, init)| init.clone())
    });
    if let Some(init) = known {
        return Ok(init);
    }
    let reply = Reply {
        status,
        content_type,
        ..Reply::json(status, String::new())
    };
    let init = response_init(status, &reply.headers())?;
    COMMON_INITS.with(|inits| {
        inits
            .borrow_mut()
            .push((status, content_type, init.clone()))
    });
    Ok(init)
}

fn response_init(
    status: u16,
    headers: &[(&'static str, &str)],
) -> Result<web_sys::ResponseInit, JsValue> {
    let values = web_sys::Headers::new()?;
    for (name, value) in headers {
        values.set(name, value)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(status);
    init.set_headers(&values);
    Ok(init)
}

/// The answer `js/entry.mjs` gives the requests in flight when the wasm
/// traps, asked for while it is healthy (after a trap nothing can be
/// asked of it): `{ body, init }` for `new Response(body, init)`, the
/// catalog's `internal_error` with status 500.
#[wasm_bindgen(js_name = crashAnswer)]
pub fn crash_answer() -> Result<JsValue, JsValue> {
    let reply = Reply {
        status: 500,
        ..Reply::rejected(crate::catalog::Rejection::InternalError)
    };
    let (body, init) = response_parts(&reply)?;
    let answer = worker::js_sys::Object::new();
    worker::js_sys::Reflect::set(&answer, &"body".into(), &JsValue::from(body))?;
    worker::js_sys::Reflect::set(&answer, &"init".into(), &init)?;
    Ok(answer.into())
}

/// The contract, served as it is in the repository (`GET /v1/openapi.json`).
const OPENAPI: &str = include_str!("../../docs/openapi.json");

/// A route that panics, so the tests can prove a bug answers JSON; with
/// the query `later`, after an await (the panic happens in a microtask). It
/// exists only when the `TEST_PANIC_ROUTE` var is `enabled`, which no
/// deployment sets (wrangler.toml does not).
const TEST_PANIC_PATH: &str = "/__test/panic";

fn test_panic_route_enabled(env: &Env) -> bool {
    env.var("TEST_PANIC_ROUTE")
        .is_ok_and(|v| v.to_string() == "enabled")
}

async fn handle(req: web_sys::Request, url: &str, env: &Env, ctx: &Context) -> Answer {
    let method = req.method();
    let query = crate::route::query_of(url);
    let route = route(&method, crate::route::path_of(url));
    let reply = match route.guard() {
        Guard::Open => match route {
            Route::Health => Reply::health(),
            Route::Click => postback::click(&req, query, env).await,
            Route::Postback => postback::postback(req, &method, query, env, ctx, false).await,
            Route::PostbackCheck => postback::postback(req, &method, query, env, ctx, true).await,
            Route::OpenApi => Reply::json(200, OPENAPI.to_owned()),
            Route::MethodNotAllowed(allow) => Reply::method_not_allowed(allow),
            _ => Reply::not_found(),
        },
        // Who is asking is known before any handler runs; a handler sees
        // only readers its route admits.
        guard => match tokens::authenticate(&req, env).await {
            Err(reply) => reply,
            Ok(access) => match (guard, access.admin_only()) {
                (Guard::Admin, Err(refused)) => tokens::forbidden(refused),
                _ => return Box::pin(guarded(route, &access, req, &method, query, env)).await,
            },
        },
    };
    reply.into()
}

/// The routes behind a token, for a reader `access` admits.
async fn guarded(
    route: Route<'_>,
    access: &Access,
    req: web_sys::Request,
    method: &str,
    query: &str,
    env: &Env,
) -> Answer {
    let reply = match route {
        Route::LogJson => return log_routes::log_json(access, query, env).await,
        Route::LogPage => log_routes::log_page(access, query, env).await,
        Route::Outbox => outbox::outbox(access, query, env).await,
        Route::Conversion(id) => conversions::conversion(access, query, env, id).await,
        Route::OutboxRetry => outbox::outbox_retry(query, env).await,
        Route::CampaignList => campaign_api::list(query, env).await,
        Route::Campaign(id) => campaign_api::campaign(&req, method, query, env, id).await,
        Route::CampaignStats(id) => campaign_api::stats(query, env, id).await,
        Route::Tokens => tokens::tokens(&req, method, query, env).await,
        Route::Token(name) => tokens::delete(query, env, name).await,
        _ => Reply::not_found(),
    };
    reply.into()
}
