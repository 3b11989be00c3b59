//! The live feed across processes. Every `cityfix serve` process on one
//! database has a feed of its own; through PostgreSQL's NOTIFY, what one
//! process publishes also reaches the supervisors connected to the others.
//!
//! Each process sends what it publishes with `pg_notify` on a channel named
//! after the schema it works in, tagged with an id of its own, and LISTENs on
//! that channel for the others' events, which it hands to its own listeners.
//! Like the feed itself this is best effort: a notification sent while a
//! listening connection is being re-established is lost, and so is one that
//! does not fit NOTIFY's 8000-byte payload; the dashboard's figures come from
//! the store and catch up at their next refresh.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::super::Result;
use crate::events::live::{LiveEvent, LiveFeed};

const CHANNEL_PREFIX: &str = "cityfix_live_";
/// PostgreSQL's longest identifier.
const MAX_CHANNEL_BYTES: usize = 63;
/// Pause before listening again after the listening connection failed.
const RETRY_PAUSE: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct Relayed {
    origin: u64,
    event: LiveEvent,
}

/// Starts relaying `feed` to and from the other processes; returns the channel.
/// A feed already relayed is left as it is.
pub(super) async fn relay(pool: &PgPool, feed: &LiveFeed) -> Result<Option<String>> {
    let schema: String = sqlx::query_scalar("SELECT current_schema()")
        .fetch_one(pool)
        .await?;
    let mut channel = format!("{CHANNEL_PREFIX}{schema}");
    while channel.len() > MAX_CHANNEL_BYTES {
        channel.pop();
    }
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(&channel).await?;
    let Some(mut outgoing) = feed.relay() else {
        return Ok(None);
    };
    let origin: u64 = rand::random();

    let sender_pool = pool.clone();
    let sender_channel = channel.clone();
    tokio::spawn(async move {
        while let Some(event) = outgoing.recv().await {
            let payload = match serde_json::to_string(&Relayed { origin, event }) {
                Ok(payload) => payload,
                Err(err) => {
                    tracing::warn!(error = %err, "live event not relayed: not serialisable");
                    continue;
                }
            };
            if let Err(err) = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(&sender_channel)
                .bind(payload)
                .execute(&sender_pool)
                .await
            {
                tracing::warn!(error = %err, "live event not relayed to the other processes");
            }
        }
    });

    let feed = feed.clone();
    tokio::spawn(async move {
        loop {
            match listener.recv().await {
                Ok(notification) => match serde_json::from_str::<Relayed>(notification.payload()) {
                    Ok(relayed) if relayed.origin != origin => {
                        feed.publish_relayed(relayed.event);
                    }
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(error = %err, "unreadable live event from another process");
                    }
                },
                Err(err) => {
                    tracing::warn!(error = %err, "live relay lost its connection; listening again");
                    tokio::time::sleep(RETRY_PAUSE).await;
                }
            }
        }
    });
    Ok(Some(channel))
}
