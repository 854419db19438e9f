//! The event bus delivers what is published to every local receiver: the
//! in-process bus always, the Redis bus against a real Redis when
//! `WORKGATE_TEST_REDIS_URL` is set (two buses on one channel stand for two
//! gateway instances).

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::broadcast;
use workgate::events::{BusEvent, EventBus, from_config};

const DEADLINE: Duration = Duration::from_secs(10);

/// Waits for the next message, skipping resync notices.
async fn next_message(receiver: &mut broadcast::Receiver<BusEvent>) -> String {
    tokio::time::timeout(DEADLINE, async {
        loop {
            match receiver.recv().await.expect("bus open") {
                BusEvent::Message(payload) => return payload.to_string(),
                BusEvent::Resync => continue,
            }
        }
    })
    .await
    .expect("message within the deadline")
}

/// Waits until the bus has (re)subscribed, so nothing published after this
/// can be missed.
async fn subscribed(receiver: &mut broadcast::Receiver<BusEvent>) {
    tokio::time::timeout(DEADLINE, async { while receiver.recv().await.expect("bus open") != BusEvent::Resync {} })
        .await
        .expect("subscribed within the deadline");
}

#[tokio::test]
async fn in_process_bus_delivers_to_every_receiver() {
    let bus = from_config(None, "unused").expect("bus");
    assert_eq!(bus.kind(), "in-process");
    bus.check().await.expect("always ready");
    let mut a = bus.subscribe();
    let mut b = bus.subscribe();
    bus.publish(r#"{"n":1}"#).await.expect("published");
    bus.publish(r#"{"n":2}"#).await.expect("published");
    for receiver in [&mut a, &mut b] {
        assert_eq!(next_message(receiver).await, r#"{"n":1}"#);
        assert_eq!(next_message(receiver).await, r#"{"n":2}"#);
    }
}

#[tokio::test]
async fn redis_bus_delivers_across_instances() {
    let Some(url) = std::env::var("WORKGATE_TEST_REDIS_URL").ok().filter(|v| !v.is_empty()) else {
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true but WORKGATE_TEST_REDIS_URL is not set");
        let _ = writeln!(std::io::stderr().lock(), "skipped: Redis tests (set WORKGATE_TEST_REDIS_URL to run them)");
        return;
    };
    let channel = format!("workgate-test:{}", uuid::Uuid::now_v7().simple());
    let one: Arc<dyn EventBus> = from_config(Some(&url), &channel).expect("bus");
    let two: Arc<dyn EventBus> = from_config(Some(&url), &channel).expect("bus");
    assert_eq!(one.kind(), "redis");
    let mut on_one = one.subscribe();
    let mut on_two = two.subscribe();
    subscribed(&mut on_one).await;
    subscribed(&mut on_two).await;
    one.check().await.expect("redis answers");

    one.publish("from-one").await.expect("published");
    two.publish("from-two").await.expect("published");
    for receiver in [&mut on_one, &mut on_two] {
        assert_eq!(next_message(receiver).await, "from-one");
        assert_eq!(next_message(receiver).await, "from-two");
    }
}
