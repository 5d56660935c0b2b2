//! The shared store, seen from the shared server: the backend store requests run on, each in
//! a task of its own, and their answers fed back to the core.

use std::sync::Arc;

use super::SharedServer;
use crate::store::{StoreAnswer, StoreBackend, StoreError, StoreId, StoreRequest};

impl SharedServer {
    /// Sets the shared store that store requests run on (once; a second call is ignored),
    /// and subscribes to the server's channels on it.
    ///
    /// Without one, a server configured with a store sees every store request fail, and
    /// limits as `RATE_LIMIT_FAILURE` says.
    pub fn set_store(self: &Arc<Self>, backend: Arc<dyn StoreBackend>) {
        if self.store.set(Arc::clone(&backend)).is_err() {
            return;
        }
        let channels = self.with(|server| server.store_channels());
        if channels.is_empty() {
            return;
        }
        let shared = Arc::downgrade(self);
        backend.subscribe(
            channels,
            Box::new(move |message| {
                if let Some(shared) = shared.upgrade() {
                    shared.drive(None, |state, now| state.server.store_message(&message, now));
                }
            }),
        );
    }

    /// Runs a store request on the backend in a task of its own; its answer is fed back
    /// when it comes (the core keeps the deadline).
    pub(super) fn run_store(self: &Arc<Self>, request: StoreRequest) {
        let StoreRequest { id, op } = request;
        let Some(backend) = self.store.get() else {
            return self.store_reply(id, Err(StoreError::new("no store backend is set")));
        };
        let answer = backend.run(op);
        let shared = Arc::clone(self);
        (self.spawn)(Box::pin(async move {
            let answer = answer.await;
            shared.store_reply(id, answer);
        }));
    }

    fn store_reply(self: &Arc<Self>, id: StoreId, answer: Result<StoreAnswer, StoreError>) {
        self.drive(None, |state, now| state.server.store_reply(id, answer, now));
    }
}
