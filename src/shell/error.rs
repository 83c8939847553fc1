//! What the shell answers when the platform fails it: one error type,
//! [`Failure`], carrying what was being done and why it failed, and one
//! answer for it, [`Failure::answer`]: the console gets the whole story,
//! the client a 503 `internal_error` it can retry.

use crate::reply::Reply;
use std::fmt;
use wasm_bindgen::JsValue;
use worker::console_error;

/// A failure of KV, R2, a queue, a Durable Object or storage: what was
/// being done, and why it failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure(String);

impl Failure {
    /// `doing` (what the shell was doing) failed with `cause`.
    pub fn new(doing: impl fmt::Display, cause: impl fmt::Display) -> Failure {
        Failure(format!("{doing}: {cause}"))
    }

    /// The same failure, with what it happened during in front.
    pub fn during(self, doing: impl fmt::Display) -> Failure {
        Failure(format!("{doing}: {}", self.0))
    }

    /// Says the failure on the console, and answers 503 `internal_error`.
    pub fn answer(&self) -> Reply {
        console_error!("{self}");
        Reply::unavailable("A store of the platform failed; nothing was changed. Retry.")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<worker::Error> for Failure {
    fn from(e: worker::Error) -> Failure {
        Failure(e.to_string())
    }
}

impl From<JsValue> for Failure {
    fn from(e: JsValue) -> Failure {
        Failure(super::platform::error_text(&e))
    }
}

impl From<serde_json::Error> for Failure {
    fn from(e: serde_json::Error) -> Failure {
        Failure(format!("JSON: {e}"))
    }
}

impl From<Failure> for worker::Error {
    fn from(f: Failure) -> worker::Error {
        worker::Error::RustError(f.0)
    }
}

/// What the shell's fallible steps return.
pub type Outcome<T> = Result<T, Failure>;
