//! Messages between replicas through a real `redis-server` (which must be on PATH): who
//! receives what, subscriptions that come back after Redis restarts, and that end with their
//! store, on tokio and smol.

mod support;

use std::time::Duration;

use rampart_core::store::{StoreAnswer, StoreBackend, StoreOp};
use rampart_redis::{RedisSettings, RedisStore};
use smol::channel::Receiver;
use support::{BOUND, RedisServer, call, connect, on_tokio, wait_for_pong, wait_until};

/// How long subscriptions may take to come back after Redis restarts or stalls.
const RESUBSCRIBED: Duration = Duration::from_secs(10);

/// The heartbeat of the tests that check it.
const HEARTBEAT: Duration = Duration::from_millis(300);

#[test]
fn replicas_hear_their_channels_on_tokio() {
    on_tokio(replicas_hear_their_channels);
}

#[test]
fn replicas_hear_their_channels_on_smol() {
    smol::block_on(replicas_hear_their_channels());
}

#[test]
fn a_store_made_in_tokio_subscribes_from_outside_the_runtime() {
    let server = RedisServer::start();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    let store = runtime.block_on(async { connect(&server) });
    let heard = listen(&store, &["all"]);
    runtime.block_on(async {
        wait_until(BOUND, "the subscription", || subscribers(&server, "all") == 1).await;
        assert_eq!(publish(&store, "all", "hello").await, 1);
        assert_eq!(next(&heard).await, "hello");
    });
}

#[test]
fn a_quiet_subscription_is_checked_and_kept() {
    on_tokio(|| async {
        let server = RedisServer::start();
        let store = connect_with_heartbeat(&server);
        let heard = listen(&store, &["all"]);
        wait_until(BOUND, "the subscription", || subscribers(&server, "all") == 1).await;
        let [(id, _)] = subscriber_clients(&server)[..] else {
            panic!("one subscriber connection");
        };
        smol::Timer::after(HEARTBEAT * 4).await;
        assert_eq!(
            subscriber_clients(&server),
            [(id, "ping".into())],
            "a quiet connection answers its heartbeat and stays"
        );
        assert_eq!(publish(&store, "all", "still here").await, 1);
        assert_eq!(next(&heard).await, "still here");
    });
}

#[test]
fn a_stalled_subscription_is_replaced() {
    on_tokio(|| async {
        let server = RedisServer::start();
        let store = connect_with_heartbeat(&server);
        let heard = listen(&store, &["all"]);
        wait_until(BOUND, "the subscription", || subscribers(&server, "all") == 1).await;
        let before = subscriber_clients(&server);
        // Redis takes the connections but answers nothing for 1.5 s: the heartbeat goes
        // unanswered, and the subscriber connects again until Redis answers.
        let _: () = server.query(redis::cmd("CLIENT").arg("PAUSE").arg(1_500).arg("ALL"));
        wait_until(RESUBSCRIBED, "a new subscription", || {
            let now = subscriber_clients(&server);
            now.len() == 1 && now[0].0 != before[0].0
        })
        .await;
        wait_for_pong(&store).await;
        assert_eq!(publish(&store, "all", "on the new connection").await, 1);
        assert_eq!(next(&heard).await, "on the new connection");
        assert!(heard.is_empty(), "heard once");
    });
}

/// Two replicas subscribe to a shared channel and one of their own; each hears what is sent
/// to it, and nothing else, before and after Redis restarts; dropping them unsubscribes.
async fn replicas_hear_their_channels() {
    let mut server = RedisServer::start();
    let (one, two) = (connect(&server), connect(&server));
    let heard_one = listen(&one, &["all", "replica:1"]);
    let heard_two = listen(&two, &["all", "replica:2"]);
    let subscribed = |server: &RedisServer| {
        subscribers(server, "all") == 2
            && subscribers(server, "replica:1") == 1
            && subscribers(server, "replica:2") == 1
    };
    wait_until(BOUND, "both subscriptions", || subscribed(&server)).await;

    assert_eq!(publish(&one, "all", "to everyone").await, 2);
    assert_eq!(next(&heard_one).await, "to everyone");
    assert_eq!(next(&heard_two).await, "to everyone");
    assert_eq!(publish(&one, "replica:2", "to two").await, 1);
    assert_eq!(next(&heard_two).await, "to two");
    assert_eq!(publish(&two, "replica:9", "to nobody").await, 0);
    assert_eq!(publish(&two, "all", "marker").await, 2);
    assert_eq!(next(&heard_one).await, "marker", "one heard nothing in between");
    assert_eq!(next(&heard_two).await, "marker");

    server.kill();
    server.restart();
    wait_for_pong(&one).await;
    wait_for_pong(&two).await;
    wait_until(RESUBSCRIBED, "subscriptions after a restart", || {
        subscribed(&server)
    })
    .await;
    assert_eq!(publish(&one, "all", "after the restart").await, 2);
    assert_eq!(next(&heard_one).await, "after the restart");
    assert_eq!(next(&heard_two).await, "after the restart");
    assert_eq!(publish(&two, "replica:1", "to one").await, 1);
    assert_eq!(next(&heard_one).await, "to one");

    drop(one);
    wait_until(BOUND, "one's subscription ends with it", || {
        subscribers(&server, "replica:1") == 0 && subscribers(&server, "all") == 1
    })
    .await;
    drop(two);
    wait_until(BOUND, "two's subscription ends with it", || {
        subscribers(&server, "all") == 0
    })
    .await;
    assert!(heard_one.is_empty() && heard_two.is_empty());
}

/// Connects to `server`, checking quiet subscriptions every [`HEARTBEAT`].
fn connect_with_heartbeat(server: &RedisServer) -> RedisStore {
    let mut settings = RedisSettings::default();
    settings.heartbeat = HEARTBEAT;
    RedisStore::connect(&server.url(), settings).expect("a valid URL")
}

/// Subscribes `store` to `channels`; returns what it hears.
fn listen(store: &RedisStore, channels: &[&str]) -> Receiver<String> {
    let (heard, hearing) = smol::channel::unbounded();
    let channels = channels.iter().map(|channel| channel.to_string()).collect();
    store.subscribe(
        channels,
        Box::new(move |payload| {
            let _ = heard.try_send(String::from_utf8(payload).expect("UTF-8 as sent"));
        }),
    );
    hearing
}

/// Returns the next message heard, which must come within [`BOUND`].
async fn next(heard: &Receiver<String>) -> String {
    let late = async {
        smol::Timer::after(BOUND).await;
        panic!("no message within {BOUND:?}");
    };
    smol::future::or(async { heard.recv().await.expect("the subscriber lives") }, late).await
}

/// Publishes `message` on `channel`; answers how many subscriptions received it.
async fn publish(store: &RedisStore, channel: &str, message: &str) -> u64 {
    let op = StoreOp::Publish {
        channel: channel.into(),
        message: message.into(),
    };
    match call(store, op).await {
        Ok(StoreAnswer::Delivered(receivers)) => receivers,
        other => panic!("a publish answered {other:?}"),
    }
}

/// Returns the id and last command of every subscribed connection, by id.
fn subscriber_clients(server: &RedisServer) -> Vec<(u64, String)> {
    let list: String = server.query(redis::cmd("CLIENT").arg("LIST").arg("TYPE").arg("pubsub"));
    let mut clients: Vec<(u64, String)> = list
        .lines()
        .map(|line| {
            let field = |name: &str| {
                let prefix = format!("{name}=");
                line.split(' ')
                    .find_map(|pair| pair.strip_prefix(prefix.as_str()))
                    .unwrap_or_default()
                    .to_string()
            };
            (field("id").parse().expect("a numeric id"), field("cmd"))
        })
        .collect();
    clients.sort();
    clients
}

/// Returns how many connections subscribe to the core's `channel`, or 0 while Redis is down.
fn subscribers(server: &RedisServer, channel: &str) -> u64 {
    let mut command = redis::cmd("PUBSUB");
    command.arg("NUMSUB").arg(format!("rampart:ch:{channel}"));
    server
        .try_query::<(String, u64)>(&command)
        .map_or(0, |(_, count)| count)
}
