//! Polling a future once on the spot, and handing what is left to an
//! executor when it is not done (the shell's fetch export: most postbacks
//! need no I/O, and a future given to wasm-bindgen's executor always costs
//! a `Promise` and a scheduled microtask before it runs).
//!
//! A future may keep the first waker it is given and never look at the
//! next one; [`Later`] makes waking that first waker wake whichever
//! executor polled it last, so such a future still resumes.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};

/// A future polled once: its output, or the rest of it to await.
pub enum Eager<F: Future> {
    Now(F::Output),
    Later(Later<F>),
}

/// Polls `future` once, with a waker that forwards to later executors.
pub fn poll_once<F: Future>(future: F) -> Eager<F> {
    let forward = Arc::new(Forward::default());
    let waker = Waker::from(forward.clone());
    let mut future = Box::pin(future);
    match future.as_mut().poll(&mut Context::from_waker(&waker)) {
        Poll::Ready(output) => Eager::Now(output),
        Poll::Pending => Eager::Later(Later { future, forward }),
    }
}

/// A future after its first poll; await it under any executor.
pub struct Later<F: Future> {
    future: Pin<Box<F>>,
    forward: Arc<Forward>,
}

impl<F: Future> Future for Later<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.forward.set(cx.waker());
        self.future.as_mut().poll(cx)
    }
}

/// The waker of the first poll: wakes whichever waker polled last.
#[derive(Default)]
struct Forward(Mutex<Option<Waker>>);

impl Forward {
    fn set(&self, waker: &Waker) {
        if let Ok(mut slot) = self.0.lock() {
            match slot.as_ref() {
                Some(current) if current.will_wake(waker) => {}
                _ => *slot = Some(waker.clone()),
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A future that keeps the first waker it sees, and is ready once
    /// `done` is set and that waker woken.
    struct KeepsFirstWaker {
        state: Arc<Mutex<(bool, Option<Waker>)>>,
    }

    impl Future for KeepsFirstWaker {
        type Output = &'static str;
        fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
            let mut state = self.state.lock().unwrap();
            if state.0 {
                return Poll::Ready("answer");
            }
            state.1.get_or_insert_with(|| cx.waker().clone());
            Poll::Pending
        }
    }

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// A `KeepsFirstWaker` after its first poll, and a way to finish its
    /// I/O: `done()` marks it ready and gives the waker it kept.
    fn pending() -> (Later<KeepsFirstWaker>, impl FnOnce() -> Waker) {
        let state = Arc::new(Mutex::new((false, None::<Waker>)));
        let Eager::Later(later) = poll_once(KeepsFirstWaker {
            state: state.clone(),
        }) else {
            panic!("answered before its I/O finished");
        };
        let done = move || {
            let mut s = state.lock().unwrap();
            s.0 = true;
            s.1.take().expect("the future kept a waker")
        };
        (later, done)
    }

    #[test]
    fn a_ready_future_answers_now() {
        match poll_once(async { 7 }) {
            Eager::Now(n) => assert_eq!(n, 7),
            Eager::Later(_) => panic!("a future with nothing to wait for was deferred"),
        }
    }

    #[test]
    fn a_future_keeping_its_first_waker_wakes_the_later_executor() {
        let (mut later, done) = pending();
        // The executor that takes over polls with its own waker.
        let executor = Arc::new(CountingWaker::default());
        let waker = Waker::from(executor.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut later).poll(&mut cx).is_pending());
        // The I/O completes and wakes the first waker the future kept.
        let kept = done();
        assert_eq!(executor.0.load(Ordering::SeqCst), 0);
        kept.wake();
        assert_eq!(
            executor.0.load(Ordering::SeqCst),
            1,
            "the executor was not woken"
        );
        assert_eq!(Pin::new(&mut later).poll(&mut cx), Poll::Ready("answer"));
    }

    #[test]
    fn waking_before_any_executor_polled_is_harmless() {
        let (mut later, done) = pending();
        let kept = done();
        kept.wake();
        let executor = Arc::new(CountingWaker::default());
        let waker = Waker::from(executor);
        assert_eq!(
            Pin::new(&mut later).poll(&mut Context::from_waker(&waker)),
            Poll::Ready("answer")
        );
    }
}
