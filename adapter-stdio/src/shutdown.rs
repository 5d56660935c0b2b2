//! A request to drain a stdio drive loop, made from outside it.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex, PoisonError};

use crate::Input;

/// Asks a stdio drive loop to drain, from any thread (a signal handler's, say): it reads no
/// more, running calls may finish until `DRAIN_TIMEOUT`, their answers are written, and the
/// loop returns `Ok`. Clones share one request; begun before the loop starts, the loop
/// drains at once.
#[derive(Debug, Clone, Default)]
pub struct Shutdown(Arc<Mutex<ShutdownState>>);

#[derive(Default)]
struct ShutdownState {
    begun: bool,
    /// The loop's input, once it runs.
    input: Option<Sender<Input>>,
}

impl std::fmt::Debug for ShutdownState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownState")
            .field("begun", &self.begun)
            .finish_non_exhaustive()
    }
}

impl Shutdown {
    /// Creates a request not begun yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Begins the drain; later calls do nothing more.
    pub fn begin(&self) {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !state.begun {
            state.begun = true;
            if let Some(input) = &state.input {
                let _ = input.send(Input::Shutdown);
            }
        }
    }

    /// Returns whether the drain was begun.
    pub fn is_begun(&self) -> bool {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).begun
    }

    /// Connects the loop's input; returns whether the drain was begun already.
    pub(crate) fn attach(&self, input: Sender<Input>) -> bool {
        let mut state = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        state.input = Some(input);
        state.begun
    }
}
