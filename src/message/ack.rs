//! Acknowledgement handles: the at-least-once guarantee.
//!
//! Every batch read from an input travels with an [`AckHandle`]. Splitting a batch (fan-out,
//! processors that produce several batches) makes more handles on the same shared state with
//! [`AckHandle::split`]; the input's callback fires once, when the last handle is gone, with the
//! worst status any of them reported. A handle dropped without being resolved counts as a nack,
//! so a bug can cause a redelivery but never a silent loss.

use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

#[derive(Clone, Debug, PartialEq)]
pub enum AckStatus {
    Delivered,
    /// Not delivered; the text says why. The input nacks its source (requeue, replay, HTTP 502).
    Failed(String),
}

impl AckStatus {
    pub fn is_ok(&self) -> bool {
        matches!(self, AckStatus::Delivered)
    }
}

/// What an input wants done once the fate of a batch is known.
pub type AckFn = Box<dyn FnOnce(AckStatus) -> BoxFuture<'static, ()> + Send>;

/// An [`AckFn`] for inputs with nothing to acknowledge.
pub fn noop_ack() -> AckFn {
    Box::new(|_| Box::pin(async {}))
}

struct Shared {
    failure: Mutex<Option<String>>,
    on_done: Mutex<Option<AckFn>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let status = match self.failure.lock().map(|mut f| f.take()) {
            Ok(Some(e)) => AckStatus::Failed(e),
            Ok(None) => AckStatus::Delivered,
            Err(_) => AckStatus::Failed("acknowledgement state poisoned".into()),
        };
        if let Some(f) = self.on_done.lock().ok().and_then(|mut c| c.take()) {
            finish(f, status);
        }
    }
}

/// Tell the source: at once when its acknowledgement completes at once (nothing to tell, or a
/// channel send); only the ones that must wait (network acks) are spawned.
fn finish(f: AckFn, status: AckStatus) {
    let mut fut = f(status);
    if !completes_now(&mut fut) {
        match tokio::runtime::Handle::try_current() {
            Ok(h) => {
                h.spawn(fut);
            }
            Err(_) => futures::executor::block_on(fut),
        }
    }
}

/// Poll an acknowledgement's future once, without a task to wake: whether it is done. One that
/// is not can still be awaited (or spawned) afterwards.
pub fn completes_now(fut: &mut BoxFuture<'static, ()>) -> bool {
    let waker = futures::task::noop_waker();
    let mut cx = std::task::Context::from_waker(&waker);
    fut.as_mut().poll(&mut cx).is_ready()
}

pub struct AckHandle {
    state: State,
}

/// Most transactions are never split (one message in, one out): their handle holds the
/// callback itself and calls it when resolved, with no shared state to allocate and lock.
enum State {
    Sole(AckFn),
    Shared(Arc<Shared>),
    /// Resolved: what it had to report was reported.
    Done,
}

impl AckHandle {
    pub fn new(on_done: AckFn) -> AckHandle {
        AckHandle {
            state: State::Sole(on_done),
        }
    }

    /// Another handle on the same transaction; the source is acked when all are resolved.
    pub fn split(&mut self) -> AckHandle {
        let shared = match std::mem::replace(&mut self.state, State::Done) {
            State::Sole(f) => Arc::new(Shared {
                failure: Mutex::new(None),
                on_done: Mutex::new(Some(f)),
            }),
            State::Shared(shared) => shared,
            // Only a handle being resolved is Done, and resolving takes it.
            State::Done => return AckHandle { state: State::Done },
        };
        self.state = State::Shared(shared.clone());
        AckHandle {
            state: State::Shared(shared),
        }
    }

    pub fn resolve(mut self, status: AckStatus) {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Sole(f) => finish(f, status),
            State::Shared(shared) => {
                if let AckStatus::Failed(e) = status {
                    fail(&shared, e);
                }
            }
            State::Done => {}
        }
    }

    pub fn ack(self) {
        self.resolve(AckStatus::Delivered)
    }

    pub fn nack(self, why: impl Into<String>) {
        self.resolve(AckStatus::Failed(why.into()))
    }
}

fn fail(shared: &Shared, why: String) {
    if let Ok(mut f) = shared.failure.lock() {
        if f.is_none() {
            *f = Some(why);
        }
    }
}

impl Drop for AckHandle {
    fn drop(&mut self) {
        const DROPPED: &str = "message was dropped without being acknowledged";
        match std::mem::replace(&mut self.state, State::Done) {
            State::Sole(f) => finish(f, AckStatus::Failed(DROPPED.into())),
            State::Shared(shared) => fail(&shared, DROPPED.into()),
            State::Done => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn recorder() -> (AckFn, mpsc::Receiver<AckStatus>) {
        let (tx, rx) = mpsc::channel();
        (
            Box::new(move |s| {
                let _ = tx.send(s);
                Box::pin(async {})
            }),
            rx,
        )
    }

    #[test]
    fn split_handles_ack_once_all_are_resolved() {
        let (f, rx) = recorder();
        let mut a = AckHandle::new(f);
        let b = a.split();
        a.ack();
        assert!(rx.try_recv().is_err());
        b.ack();
        assert_eq!(rx.try_recv().unwrap(), AckStatus::Delivered);
    }

    #[test]
    fn worst_status_wins() {
        let (f, rx) = recorder();
        let mut a = AckHandle::new(f);
        let b = a.split();
        b.nack("boom");
        a.ack();
        assert_eq!(rx.try_recv().unwrap(), AckStatus::Failed("boom".into()));
    }

    #[test]
    fn dropped_handle_is_a_nack() {
        let (f, rx) = recorder();
        drop(AckHandle::new(f));
        assert!(matches!(rx.try_recv().unwrap(), AckStatus::Failed(_)));
    }

    #[test]
    fn an_unsplit_handle_reports_its_own_status_when_resolved() {
        let (f, rx) = recorder();
        AckHandle::new(f).nack("no");
        assert_eq!(rx.try_recv().unwrap(), AckStatus::Failed("no".into()));
        let (f, rx) = recorder();
        let a = AckHandle::new(f);
        assert!(rx.try_recv().is_err());
        a.ack();
        assert_eq!(rx.try_recv().unwrap(), AckStatus::Delivered);
    }

    #[test]
    fn a_part_dropped_unresolved_nacks_the_whole() {
        let (f, rx) = recorder();
        let mut a = AckHandle::new(f);
        let b = a.split();
        let c = a.split();
        a.ack();
        b.ack();
        assert!(rx.try_recv().is_err());
        drop(c);
        assert!(matches!(rx.try_recv().unwrap(), AckStatus::Failed(_)));
    }
}
