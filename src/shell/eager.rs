//! Answering at once when nothing has to be waited for.
//!
//! Most postbacks need no I/O: the campaign is in the isolate's cache and
//! the edge refuses, or the route needs nothing outside the request. A
//! future handed to wasm-bindgen's executor always costs a `Promise`, a
//! scheduled microtask and a few crossings between wasm and JavaScript
//! before it runs; [`now_or_later`] polls it once first, on the spot.

use std::future::{poll_fn, Future};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use wasm_bindgen::JsValue;
use worker::wasm_bindgen_futures::future_to_promise;

/// The answer as a string if `answer` completes on its first poll, else a
/// `Promise` of it.
pub fn now_or_later(answer: impl Future<Output = String> + 'static) -> JsValue {
    let forward = Arc::new(Forward::default());
    let waker = Waker::from(forward.clone());
    let mut answer = Box::pin(answer);
    match answer.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(wire) => JsValue::from(wire),
        Poll::Pending => future_to_promise(async move {
            let wire = poll_fn(|cx| {
                forward.set(cx.waker());
                answer.as_mut().poll(cx)
            })
            .await;
            Ok(JsValue::from(wire))
        })
        .into(),
    }
}

/// The waker of the first poll. A future may keep the first waker it is
/// given (the `worker` crate's `Delay` does); waking it wakes whichever
/// waker polled the answer last, so such a future still resumes under the
/// executor.
#[derive(Default)]
struct Forward(Mutex<Option<Waker>>);

impl Forward {
    fn set(&self, waker: &Waker) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = Some(waker.clone());
        }
    }
}

impl Wake for Forward {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = self.0.lock().ok().and_then(|slot| slot.clone());
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
