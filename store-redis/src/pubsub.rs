//! Messages between replicas: publishing on Redis channels, and the task that listens on them
//! and subscribes again after every outage until its store is gone.

use std::future::Future;
use std::time::Duration;

use rampart_core::store::StoreError;
use redis::aio::PubSub;
use smol::channel::{Receiver, Sender};
use smol::stream::StreamExt;

use crate::backoff::{Backoff, MIN_WAIT};
use crate::runtime::Runtime;
use crate::{RedisStore, failed};

/// What a subscription hands each message's payload to.
pub(crate) type Deliver = Box<dyn Fn(Vec<u8>) + Send + Sync>;

impl RedisStore {
    /// Sends `message` on `channel`; answers how many subscriptions received it.
    pub(crate) async fn publish(&mut self, channel: &str, message: String) -> Result<u64, StoreError> {
        redis::cmd("PUBLISH")
            .arg(channel_name(&self.shared.settings.prefix, channel))
            .arg(message)
            .query_async(&mut self.manager)
            .await
            .map_err(failed)
    }

    /// Starts the task that hands every message on `channels` to `deliver`.
    pub(crate) fn start_subscriber(&self, channels: Vec<String>, deliver: Deliver) {
        let settings = &self.shared.settings;
        let mut channels: Vec<String> = channels
            .iter()
            .map(|channel| channel_name(&settings.prefix, channel))
            .collect();
        channels.sort();
        channels.dedup();
        if channels.is_empty() {
            return;
        }
        let subscriber = Subscriber {
            client: self.shared.client.clone(),
            channels,
            deliver,
            runtime: self.shared.runtime.clone(),
            attempt_limit: settings.connection_timeout + settings.response_timeout,
            heartbeat: settings.heartbeat.max(MIN_WAIT),
            backoff: Backoff::new(settings.min_backoff, settings.max_backoff),
            ended: self.shared.lifeline.watch(),
        };
        self.shared.runtime.spawn(subscriber.run());
    }
}

/// Tells a store's subscriber when the last clone of the store is dropped: its channel closes.
#[derive(Debug)]
pub(crate) struct Lifeline {
    /// Never sends; dropped with the store, it closes the channel.
    _alive: Sender<()>,
    /// What the subscribers watch.
    ended: Receiver<()>,
}

impl Lifeline {
    /// Returns a lifeline whose channel stays open until it is dropped.
    pub(crate) fn new() -> Self {
        let (alive, ended) = smol::channel::bounded(1);
        Self { _alive: alive, ended }
    }

    /// Returns what a subscriber watches: its `recv` ends once the lifeline is dropped.
    fn watch(&self) -> Receiver<()> {
        self.ended.clone()
    }
}

/// Returns the Redis channel of the core's `channel`: `{prefix}ch:<channel>`.
fn channel_name(prefix: &str, channel: &str) -> String {
    format!("{prefix}ch:{channel}")
}

/// The task that holds a store's subscription, on a connection of its own.
struct Subscriber {
    client: redis::Client,
    /// The Redis channels, prefixed, sorted and without duplicates.
    channels: Vec<String>,
    deliver: Deliver,
    runtime: Runtime,
    /// How long connecting and subscribing may take.
    attempt_limit: Duration,
    /// How long the connection may stay silent, and a `PING` take.
    heartbeat: Duration,
    /// The waits between attempts to subscribe.
    backoff: Backoff,
    ended: Receiver<()>,
}

/// Why a subscribed connection stopped listening.
enum Stop {
    /// The connection dropped or stopped answering: subscribe again.
    Lost,
    /// Every clone of the store is gone: end the task.
    StoreGone,
}

/// What woke a listening subscriber.
enum Wake {
    /// A message, or `None` when the connection dropped.
    Message(Option<redis::Msg>),
    /// Nothing came for a heartbeat.
    Quiet,
}

impl Subscriber {
    /// Subscribes and delivers; after each outage waits (from the shortest wait, doubling up
    /// to the longest) and subscribes again, until the store is gone.
    async fn run(mut self) {
        loop {
            match self.unless_ended(self.subscribe()).await {
                None => return,
                Some(Ok(pubsub)) => {
                    self.backoff.reset();
                    if let Stop::StoreGone = self.listen(pubsub).await {
                        return;
                    }
                }
                // Redis is unreachable or refused: try again after the wait.
                Some(Err(_)) => {}
            }
            let wait = self.backoff.next_wait();
            if self.unless_ended(self.runtime.sleep(wait)).await.is_none() {
                return;
            }
        }
    }

    /// Opens a pub/sub connection subscribed to every channel.
    async fn subscribe(&self) -> Result<PubSub, StoreError> {
        let attempt = async {
            let mut pubsub = self.client.get_async_pubsub().await.map_err(failed)?;
            pubsub.subscribe(&self.channels).await.map_err(failed)?;
            Ok(pubsub)
        };
        self.runtime.within(self.attempt_limit, attempt).await
    }

    /// Delivers every message on `pubsub` until it drops, stops answering, or the store is
    /// gone.
    async fn listen(&self, pubsub: PubSub) -> Stop {
        let (mut sink, mut stream) = pubsub.split();
        loop {
            let message = async { Wake::Message(stream.next().await) };
            let quiet = async {
                self.runtime.sleep(self.heartbeat).await;
                Wake::Quiet
            };
            let Some(wake) = self.unless_ended(smol::future::or(message, quiet)).await else {
                return Stop::StoreGone;
            };
            match wake {
                Wake::Message(Some(message)) => (self.deliver)(message.get_payload_bytes().to_vec()),
                Wake::Message(None) => return Stop::Lost,
                Wake::Quiet => {
                    let ping = async { sink.ping::<redis::Value>().await.map_err(failed) };
                    match self.unless_ended(self.runtime.within(self.heartbeat, ping)).await {
                        None => return Stop::StoreGone,
                        Some(Err(_)) => return Stop::Lost,
                        Some(Ok(_)) => {}
                    }
                }
            }
        }
    }

    /// Runs `work` to its end, or returns `None` as soon as the store is gone.
    async fn unless_ended<T>(&self, work: impl Future<Output = T>) -> Option<T> {
        let work = async { Some(work.await) };
        let ended = async {
            // Nothing is ever sent: this returns once the lifeline is dropped.
            let _ = self.ended.recv().await;
            None
        };
        smol::future::or(work, ended).await
    }
}
