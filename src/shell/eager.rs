//! Answering at once when nothing has to be waited for.
//!
//! Most postbacks need no I/O: the campaign is in the isolate's cache and
//! the edge refuses, or the route needs nothing outside the request. A
//! future handed to wasm-bindgen's executor always costs a `Promise`, a
//! scheduled microtask and a few crossings between wasm and JavaScript
//! before it runs; [`now_or_later`] polls it once first, on the spot
//! (`crate::eager`, tested natively).

use crate::eager::{poll_once, Eager};
use std::future::Future;
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::future_to_promise;

/// The answer itself if `answer` completes on its first poll, else a
/// `Promise` of it.
pub fn now_or_later(answer: impl Future<Output = JsValue> + 'static) -> JsValue {
    match poll_once(answer) {
        Eager::Now(answer) => answer,
        Eager::Later(later) => future_to_promise(async move { Ok(later.await) }).into(),
    }
}
