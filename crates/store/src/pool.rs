//! A small bounded pool of reader connections. Bounded because the server calls the store from
//! `spawn_blocking`, which may run hundreds of threads: without a bound a burst of queries would
//! open as many PostgreSQL backends (and hit `max_connections`).

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::Result;

pub(crate) struct Pool<C> {
    state: Mutex<State<C>>,
    freed: Condvar,
    max: usize,
    /// Whether a connection coming back may be handed out again.
    healthy: fn(&C) -> bool,
}

struct State<C> {
    idle: Vec<C>,
    /// Connections in existence: idle plus handed out plus being opened.
    open: usize,
}

/// Gives back the slot of a connection lost to a panic, so the pool does not shrink for good.
struct SlotGuard<'a, C> {
    pool: &'a Pool<C>,
    armed: bool,
}

impl<C> Drop for SlotGuard<'_, C> {
    fn drop(&mut self) {
        if self.armed {
            let mut state = lock(&self.pool.state);
            state.open = state.open.saturating_sub(1);
            self.pool.freed.notify_one();
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The state is consistent at every unlock, so a panic elsewhere does not corrupt it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl<C> Pool<C> {
    pub(crate) fn new(max: usize, healthy: fn(&C) -> bool) -> Self {
        Pool {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            freed: Condvar::new(),
            max: max.max(1),
            healthy,
        }
    }

    /// Takes every idle connection out of the pool (to close them somewhere safe).
    pub(crate) fn take_idle(&self) -> Vec<C> {
        std::mem::take(&mut lock(&self.state).idle)
    }

    /// Runs `f` on an idle connection, a new one from `connect` if fewer than `max` exist, or
    /// else the next one given back; then returns the connection (or closes it if broken).
    pub(crate) fn with<T>(
        &self,
        connect: impl FnOnce() -> Result<C>,
        f: impl FnOnce(&mut C) -> T,
    ) -> Result<T> {
        let mut conn = self.acquire(connect)?;
        let mut slot = SlotGuard {
            pool: self,
            armed: true,
        };
        let out = f(&mut conn);
        slot.armed = false;
        self.release(conn);
        Ok(out)
    }

    fn acquire(&self, connect: impl FnOnce() -> Result<C>) -> Result<C> {
        let mut state = lock(&self.state);
        loop {
            while let Some(conn) = state.idle.pop() {
                if (self.healthy)(&conn) {
                    return Ok(conn);
                }
                state.open = state.open.saturating_sub(1);
            }
            if state.open < self.max {
                state.open += 1;
                break;
            }
            state = self
                .freed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        drop(state);
        connect().inspect_err(|_| {
            let mut state = lock(&self.state);
            state.open = state.open.saturating_sub(1);
            self.freed.notify_one();
        })
    }

    fn release(&self, conn: C) {
        let mut state = lock(&self.state);
        if (self.healthy)(&conn) {
            state.idle.push(conn);
        } else {
            state.open = state.open.saturating_sub(1);
        }
        self.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_opens_more_than_max_and_reuses() {
        let opened = AtomicUsize::new(0);
        let pool: Pool<usize> = Pool::new(2, |_| true);
        let connect = || Ok(opened.fetch_add(1, Ordering::SeqCst));
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    for _ in 0..50 {
                        let id = pool.with(connect, |c| *c).unwrap_or(usize::MAX);
                        assert!(id < 2);
                    }
                });
            }
        });
        assert!(opened.load(Ordering::SeqCst) <= 2);
    }

    #[test]
    fn broken_connections_are_replaced() {
        let pool: Pool<bool> = Pool::new(1, |healthy| *healthy);
        let first = pool.with(|| Ok(true), |c| *c = false);
        assert!(first.is_ok());
        // The broken one was closed, so a new one can be opened despite max = 1.
        let second = pool.with(|| Ok(true), |c| *c);
        assert!(matches!(second, Ok(true)));
    }
}
