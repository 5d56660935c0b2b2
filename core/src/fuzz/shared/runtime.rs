//! The runtime side of the `shared` target: the spawned calls, the timer task on the virtual
//! clock, and the log writer.

use std::time::{Duration, Instant};

use serde_json::Value;

use super::Run;
use super::tasks::Waiter;

impl Run {
    /// Polls the spawned tasks that can run (new ones, and those woken since their last
    /// poll), as a runtime would: all of them if bit 7 of `arg` is set, else one it picks.
    pub(super) fn run_tasks(&mut self, arg: u8) {
        self.tasks.extend(
            self.spawned
                .lock()
                .expect("spawner")
                .drain(..)
                .map(|task| (task, Waiter::new())),
        );
        let runnable: Vec<usize> = (0..self.tasks.len())
            .filter(|&i| !self.tasks[i].1.asleep())
            .collect();
        if runnable.is_empty() {
            return;
        }
        let chosen = if arg & 0x80 == 0 {
            vec![runnable[usize::from(arg) % runnable.len()]]
        } else {
            runnable
        };
        // Polled without the spawner's lock held: a call that completes may spawn more.
        let mut finished = Vec::new();
        for index in chosen {
            let (task, waiter) = &mut self.tasks[index];
            if waiter.poll(task.as_mut()).is_ready() {
                finished.push(index);
            }
        }
        for index in finished.into_iter().rev() {
            drop(self.tasks.remove(index));
        }
    }

    pub(super) fn advance(&mut self, by: Duration) {
        {
            let mut now = self.now.lock().expect("clock");
            *now = now.advanced(by);
        }
        self.fire();
    }

    /// Moves the clock to the armed deadline, as the timer task's sleep would; a second
    /// when none is armed.
    pub(super) fn jump(&mut self) {
        let now = self.now.lock().expect("clock").instant;
        let by = match self.shared.next_deadline() {
            Some(at) => at.saturating_duration_since(now),
            None => Duration::from_secs(1),
        };
        self.advance(by);
    }

    /// The timer task fires the deadlines passed and arms itself again.
    fn fire(&mut self) {
        self.shared.timeout();
        let now = self.now.lock().expect("clock").instant;
        let next = self.arm_timer();
        assert!(
            next.is_none_or(|at| at > now),
            "a deadline still due right after timeout(): {:?} past",
            next.map(|at| now - at)
        );
    }

    pub(super) fn arm_timer(&mut self) -> Option<Instant> {
        let next = self.shared.next_deadline();
        let changed = self.timer.poll(self.shared.deadline_changed());
        assert!(
            changed.is_pending(),
            "deadline_changed is ready right after arming"
        );
        next
    }

    /// The log writer waits for lines (bit 0 of `arg` clear) or takes them for a last flush.
    pub(super) fn logs(&mut self, arg: u8) {
        let mut lines = Vec::new();
        if arg & 1 == 0 {
            let _ = self.writer.poll(self.shared.logs(&mut lines));
        } else {
            lines = self.shared.take_logs();
        }
        let text = std::str::from_utf8(&lines).expect("log lines are UTF-8");
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "a batch ends with a newline"
        );
        for line in text.lines() {
            let record: Value = serde_json::from_str(line).expect("each log line is JSON");
            assert!(record.is_object(), "each log line is an object: {line}");
        }
    }
}
