//! When the connections' sockets have bytes to read, told by an epoll set of their own in
//! which each socket is registered once, edge-triggered (Linux and Android).
//!
//! async-io registers a socket's interest oneshot, so every wait for a read costs an
//! `epoll_ctl` to re-arm it: one per request on a keep-alive connection. Here the sockets
//! sit in a second epoll set, once, and one task ([`Edge::dispatch`]) drains that set and
//! wakes the readers: async-io waits only for the set itself, and only when it is empty. The
//! readiness of a socket is a flag, set by an event and cleared by a read that found the
//! socket empty (EAGAIN, or fewer bytes than asked for), unless an event came in between;
//! that is tokio's scheme. Writes still wait through async-io: they seldom have to.

use std::collections::HashMap;
use std::future::poll_fn;
use std::io::{self, Read};
use std::mem::MaybeUninit;
use std::net::TcpStream;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use rustix::event::epoll;
use smol::Async;

/// How many events one `epoll_wait` takes at most.
const BATCH: usize = 256;

/// `epoll_wait` returns at once: the dispatch waits through async-io.
const NOW: rustix::event::Timespec = rustix::event::Timespec {
    tv_sec: 0,
    tv_nsec: 0,
};

/// The epoll set of the connections' reads, and who waits on each.
pub(crate) struct Edge {
    epoll: Async<OwnedFd>,
    readers: Mutex<HashMap<u64, Arc<Readiness>>>,
    next_key: AtomicU64,
    /// The dispatch task ended: readers wait through async-io again.
    closed: AtomicBool,
}

impl Edge {
    /// Makes an empty set.
    pub(crate) fn new() -> io::Result<Arc<Self>> {
        let epoll = epoll::create(epoll::CreateFlags::CLOEXEC)?;
        Ok(Arc::new(Self {
            epoll: Async::new(epoll)?,
            readers: Mutex::new(HashMap::new()),
            next_key: AtomicU64::new(0),
            closed: AtomicBool::new(false),
        }))
    }

    /// Adds `socket` to the set; it stays there until the registration is dropped.
    pub(crate) fn register(self: &Arc<Self>, socket: &Arc<Async<TcpStream>>) -> io::Result<Registration> {
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let readiness = Arc::new(Readiness::default());
        self.lock().insert(key, Arc::clone(&readiness));
        let flags = epoll::EventFlags::IN | epoll::EventFlags::RDHUP | epoll::EventFlags::ET;
        if let Err(err) = epoll::add(
            &self.epoll,
            socket.get_ref(),
            epoll::EventData::new_u64(key),
            flags,
        ) {
            self.lock().remove(&key);
            return Err(err.into());
        }
        Ok(Registration {
            edge: Arc::clone(self),
            socket: Arc::clone(socket),
            key,
            readiness,
        })
    }

    /// Drains the set and wakes the readers of the sockets it names, for as long as it is
    /// polled; once dropped, readers wait through async-io instead.
    pub(crate) async fn dispatch(self: Arc<Self>) {
        let closing = Closing(&self);
        let mut keys: Vec<(u64, bool)> = Vec::with_capacity(BATCH);
        loop {
            keys.clear();
            match closing.0.take_events(&mut keys) {
                Ok(()) => {}
                Err(rustix::io::Errno::INTR) => continue,
                // Nothing else fails on a valid set and buffer; were it to, readers fall back.
                Err(_) => return,
            }
            if keys.is_empty() {
                // Level-triggered and oneshot in async-io: events that came first still wake.
                if closing.0.epoll.readable().await.is_err() {
                    return;
                }
                continue;
            }
            {
                let readers = closing.0.lock();
                for (key, closed) in &keys {
                    if let Some(readiness) = readers.get(key) {
                        readiness.set(*closed);
                    }
                }
            }
            // Let the readers just woken run, then look again: under load, events gather
            // meanwhile and are taken without waiting through async-io.
            smol::future::yield_now().await;
        }
    }

    /// Takes the events waiting in the set, without waiting, and adds their keys to `keys`,
    /// each with whether the peer closed its side (or the socket failed).
    fn take_events(&self, keys: &mut Vec<(u64, bool)>) -> rustix::io::Result<()> {
        let mut events = [MaybeUninit::<epoll::Event>::uninit(); BATCH];
        let (events, _) = epoll::wait(&self.epoll, &mut events, Some(&NOW))?;
        let closing = epoll::EventFlags::RDHUP | epoll::EventFlags::HUP | epoll::EventFlags::ERR;
        keys.extend(events.iter().map(|event| {
            // The event struct is packed: copy the flags out before looking at them.
            let flags = event.flags;
            (event.data.u64(), flags.intersects(closing))
        }));
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<u64, Arc<Readiness>>> {
        self.readers
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Ends the dispatch: every reader is woken and waits through async-io from then on.
struct Closing<'a>(&'a Edge);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        self.0.closed.store(true, Ordering::SeqCst);
        for readiness in self.0.lock().values() {
            readiness.set(false);
        }
    }
}

/// A socket's place in the set.
pub(crate) struct Registration {
    edge: Arc<Edge>,
    socket: Arc<Async<TcpStream>>,
    key: u64,
    readiness: Arc<Readiness>,
}

impl Registration {
    /// Reads what has arrived into `buf`, waiting for an event while the socket is empty;
    /// `None` once the dispatch has ended, with nothing read.
    pub(crate) async fn read(&self, buf: &mut [u8]) -> Option<io::Result<usize>> {
        poll_fn(|cx| {
            loop {
                if self.edge.closed.load(Ordering::SeqCst) {
                    return Poll::Ready(None);
                }
                let Poll::Ready(tick) = self.readiness.poll(cx) else {
                    return Poll::Pending;
                };
                match self.socket.get_ref().read(buf) {
                    Ok(read) => {
                        if read > 0 && read < buf.len() {
                            self.readiness.clear(tick);
                        }
                        return Poll::Ready(Some(Ok(read)));
                    }
                    Err(err) if err.kind() == io::ErrorKind::WouldBlock => self.readiness.clear(tick),
                    Err(err) => return Poll::Ready(Some(Err(err))),
                }
            }
        })
        .await
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.edge.lock().remove(&self.key);
        let _ = epoll::delete(&self.edge.epoll, self.socket.get_ref().as_fd());
    }
}

/// Whether a socket may have bytes to read, and the reader waiting if not.
#[derive(Default)]
struct Readiness(Mutex<ReadinessState>);

#[derive(Default)]
struct ReadinessState {
    /// Unset only by a read that found the socket empty; a new socket may have bytes.
    empty: bool,
    /// The peer closed its side (or the socket failed): reads never wait again, since the
    /// end of input (or the error) is there to read even after a short read, and no further
    /// event would come for it.
    closed: bool,
    /// Counts the events, so that a read clears only the readiness it saw.
    tick: u64,
    waker: Option<Waker>,
}

impl Readiness {
    fn lock(&self) -> MutexGuard<'_, ReadinessState> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Ready with the current tick when the socket may have bytes; otherwise keeps the waker.
    fn poll(&self, cx: &mut Context<'_>) -> Poll<u64> {
        let mut state = self.lock();
        if !state.empty {
            return Poll::Ready(state.tick);
        }
        match &mut state.waker {
            Some(waker) if waker.will_wake(cx.waker()) => {}
            waker => *waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// An event came (`closed`: one saying the peer closed its side): the socket may have
    /// bytes; wakes the reader.
    fn set(&self, closed: bool) {
        let waker = {
            let mut state = self.lock();
            state.empty = false;
            state.closed |= closed;
            state.tick = state.tick.wrapping_add(1);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// A read found the socket empty: waits for the next event, unless one came since `tick`.
    fn clear(&self, tick: u64) {
        let mut state = self.lock();
        if state.tick == tick && !state.closed {
            state.empty = true;
        }
    }
}
