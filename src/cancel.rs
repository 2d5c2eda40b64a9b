//! Cancellation of the calls in progress on one client, from any thread.
//!
//! A cancel request bumps an epoch; every call notes the epoch when it starts and stops at
//! its next check point once the epoch has moved. Calls that start after the cancel are not
//! affected, so a cancel never poisons the client.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::error::{Error, HimsaStatus};

/// The instant `wait` from now; a wait too long to represent ends in about a century.
pub(crate) fn deadline_after(wait: Duration) -> Instant {
    const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
    let now = Instant::now();
    now.checked_add(wait.min(CENTURY)).unwrap_or(now)
}

/// The cancel switch of one client.
#[derive(Debug, Default)]
pub(crate) struct Canceller {
    epoch: AtomicU64,
    lock: Mutex<()>,
    wake: Condvar,
}

/// A call's view of the switch: cancelled once the epoch differs from the one it started in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CallScope<'a> {
    canceller: &'a Canceller,
    started_in: u64,
    deadline: Instant,
}

impl Canceller {
    /// Cancels every call in progress now, and wakes those that are waiting.
    pub(crate) fn cancel(&self) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.epoch.fetch_add(1, Ordering::SeqCst);
        self.wake.notify_all();
    }

    /// Starts a call that must end by `deadline`.
    pub(crate) fn scope(&self, deadline: Instant) -> CallScope<'_> {
        CallScope {
            canceller: self,
            started_in: self.epoch.load(Ordering::SeqCst),
            deadline,
        }
    }
}

impl CallScope<'_> {
    /// The same call with a deadline no later than `deadline`.
    pub(crate) fn narrowed(self, deadline: Instant) -> Self {
        CallScope {
            deadline: self.deadline.min(deadline),
            ..self
        }
    }

    /// When the call must have ended.
    #[cfg(test)]
    pub(crate) fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before the deadline (zero once it has passed).
    pub(crate) fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// An error if the call was cancelled.
    pub(crate) fn check(&self) -> Result<(), Error> {
        if self.canceller.epoch.load(Ordering::SeqCst) != self.started_in {
            return Err(Error::new(HimsaStatus::Cancelled, "the call was cancelled"));
        }
        Ok(())
    }

    /// Sleeps for `wait`, returning early with an error when the call is cancelled.
    pub(crate) fn sleep(&self, wait: Duration) -> Result<(), Error> {
        let until = deadline_after(wait);
        let mut guard = self
            .canceller
            .lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        loop {
            self.check()?;
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            guard = self
                .canceller
                .wake
                .wait_timeout(guard, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::thread;

    #[test]
    fn cancel_wakes_a_sleeper_and_spares_later_calls() {
        let canceller = Arc::new(Canceller::default());
        let far = Instant::now() + Duration::from_secs(60);

        let sleeper = {
            let canceller = Arc::clone(&canceller);
            thread::spawn(move || {
                let scope = canceller.scope(far);
                let started = Instant::now();
                let result = scope.sleep(Duration::from_secs(30));
                (result, started.elapsed())
            })
        };
        thread::sleep(Duration::from_millis(50));
        canceller.cancel();
        let (result, elapsed) = sleeper.join().unwrap();
        assert_eq!(result.unwrap_err().status(), HimsaStatus::Cancelled);
        assert!(elapsed < Duration::from_secs(30));

        let later = canceller.scope(far);
        assert!(later.check().is_ok());
        assert!(later.sleep(Duration::from_millis(1)).is_ok());
    }

    #[test]
    fn narrowed_deadline_never_extends() {
        let canceller = Canceller::default();
        let soon = Instant::now() + Duration::from_secs(1);
        let scope = canceller.scope(soon);
        assert_eq!(
            scope.narrowed(soon + Duration::from_secs(5)).deadline(),
            soon
        );
        let sooner = soon - Duration::from_millis(500);
        assert_eq!(scope.narrowed(sooner).deadline(), sooner);
    }
}
