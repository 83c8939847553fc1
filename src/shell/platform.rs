//! What the core takes as arguments and only the platform knows: the time,
//! randomness, the visitor's country, request headers and bodies.

use crate::click::Country;
use wasm_bindgen::prelude::*;
use worker::js_sys::{Reflect, Uint8Array};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{ReadableStreamDefaultReader, Request};

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// `Date.now()`: a static call, no `Date` object made.
pub fn now_millis() -> u64 {
    // Milliseconds since 1970 are whole and positive; `as` saturates.
    worker::js_sys::Date::now() as u64
}

pub fn now_seconds() -> i64 {
    i64::try_from(now_millis() / 1000).unwrap_or(i64::MAX)
}

/// Four random bytes, so two clicks in the same second differ.
pub fn nonce() -> [u8; 4] {
    random_bytes()
}

/// `N` bytes from the platform's cryptographic generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    get_random_values(&mut bytes);
    bytes
}

/// A random `u32`, for log entry ids.
pub fn nonce_u32() -> u32 {
    u32::from_be_bytes(nonce())
}

/// A random number in [0, 1), for retry jitter.
pub fn random_unit() -> f64 {
    f64::from(nonce_u32()) / (f64::from(u32::MAX) + 1.0)
}

/// `request.cf.country`.
pub fn country(req: &Request) -> Country {
    let code = Reflect::get(req, &JsValue::from_str("cf"))
        .ok()
        .filter(|cf| cf.is_object())
        .and_then(|cf| Reflect::get(&cf, &JsValue::from_str("country")).ok())
        .and_then(|c| c.as_string());
    code.map_or(Country::UNKNOWN, |c| Country::from_code(&c))
}

/// Why a request's body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyError {
    /// It holds more than the limit: reading stopped there.
    TooLong,
    /// The stream failed.
    Unreadable,
}

/// The request's body, read chunk by chunk with a running bound: once it
/// passes `limit` bytes, the stream is cancelled and the rest is never
/// read, so a chunked body (which declares no length) cannot fill the
/// isolate's memory. No body is an empty one.
pub async fn read_body(req: &Request, limit: usize) -> Result<Vec<u8>, BodyError> {
    let Some(stream) = req.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|_| BodyError::Unreadable)?;
        let field = |name: &str| Reflect::get(&chunk, &JsValue::from_str(name));
        if field("done").ok().and_then(|d| d.as_bool()).unwrap_or(true) {
            return Ok(body);
        }
        let bytes: Uint8Array = field("value")
            .ok()
            .and_then(|v| v.dyn_into().ok())
            .ok_or(BodyError::Unreadable)?;
        let start = body.len();
        let len = bytes.length() as usize;
        if start + len > limit {
            // Cancelling tells the runtime to stop receiving; its outcome
            // changes nothing here.
            let _ = JsFuture::from(reader.cancel()).await;
            return Err(BodyError::TooLong);
        }
        body.resize(start + len, 0);
        bytes.copy_to(&mut body[start..]);
    }
}

/// A request header; `None` if absent (or unreadable).
pub fn header(req: &Request, name: &str) -> Option<String> {
    req.headers().get(name).ok().flatten()
}

/// A JavaScript exception as text: an `Error`'s message, else the value.
pub fn error_text(e: &JsValue) -> String {
    e.dyn_ref::<worker::js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| format!("{e:?}"))
}
