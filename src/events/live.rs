//! The live feed: new reports, status changes and missed deadlines, as they
//! happen, for the supervisors' dashboard stream.
//!
//! Producers (the intake pipeline, the work-order transitions, the breach
//! scanner) publish into a
//! tokio broadcast channel; each open dashboard stream subscribes. Publishing
//! never blocks and never fails for lack of listeners. A listener that falls
//! more than the channel's capacity behind is told how many events it missed.

use std::sync::{Arc, OnceLock};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use crate::sla::DeadlineKind;

/// Events kept for slow listeners before they start missing some.
pub const DEFAULT_LIVE_CAPACITY: usize = 1024;

/// Events waiting to be relayed to the other processes before new ones are dropped.
const RELAY_CAPACITY: usize = 1024;

/// One thing that happened, with the jurisdictions it concerns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveEvent {
    /// The owning jurisdiction first, then those containing it (other levels);
    /// a supervisor sees the event when its jurisdiction is among them.
    pub jurisdiction_ids: Vec<i64>,
    /// When it happened.
    pub at: Timestamp,
    #[serde(flatten)]
    pub kind: LiveEventKind,
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LiveEventKind {
    /// A report was accepted (and merged into, or opened, an incident).
    ReportAccepted {
        report_id: i64,
        incident_id: i64,
        category: String,
        lon: f64,
        lat: f64,
    },
    /// An incident's work order moved to a new status.
    StatusChanged {
        incident_id: i64,
        work_order_id: Option<i64>,
        status: String,
    },
    /// A work order missed a deadline and was escalated (once per order and deadline).
    DeadlineBreached {
        incident_id: i64,
        work_order_id: i64,
        category: String,
        /// The contractor holding the order; `None` when it waits for a supervisor.
        contractor: Option<String>,
        deadline: DeadlineKind,
        due_at: Timestamp,
    },
}

impl LiveEvent {
    /// The SSE event name: the kind's tag.
    pub fn name(&self) -> &'static str {
        match self.kind {
            LiveEventKind::ReportAccepted { .. } => "report_accepted",
            LiveEventKind::StatusChanged { .. } => "status_changed",
            LiveEventKind::DeadlineBreached { .. } => "deadline_breached",
        }
    }
}

/// The sending side of the live feed; cheap to clone and share.
///
/// Several processes on one database each have their own feed. A feed with a
/// relay (see [`LiveFeed::relay`]) also hands what this process publishes to it,
/// and events from the other processes come back in through
/// [`LiveFeed::publish_relayed`], which does not relay them again.
#[derive(Debug, Clone)]
pub struct LiveFeed {
    sender: broadcast::Sender<LiveEvent>,
    relay: Arc<OnceLock<mpsc::Sender<LiveEvent>>>,
}

impl Default for LiveFeed {
    fn default() -> Self {
        Self::new(DEFAULT_LIVE_CAPACITY)
    }
}

impl LiveFeed {
    /// A feed that keeps up to `capacity` events for slow listeners.
    pub fn new(capacity: usize) -> Self {
        let (sender, _) = broadcast::channel(capacity.max(1));
        Self {
            sender,
            relay: Arc::default(),
        }
    }

    /// Hands `event` to every current listener, and to the relay when there is
    /// one; returns how many listeners there were.
    pub fn publish(&self, event: LiveEvent) -> usize {
        if let Some(relay) = self.relay.get()
            && relay.try_send(event.clone()).is_err()
        {
            tracing::warn!(
                "live relay full or closed: an event reaches this process's listeners only"
            );
        }
        self.sender.send(event).unwrap_or(0)
    }

    /// Hands an event another process published to this process's listeners.
    pub fn publish_relayed(&self, event: LiveEvent) -> usize {
        self.sender.send(event).unwrap_or(0)
    }

    /// A new listener, receiving events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveEvent> {
        self.sender.subscribe()
    }

    /// The events this process publishes from now on, for a relay to the other
    /// processes; `None` when a relay already takes them.
    pub fn relay(&self) -> Option<mpsc::Receiver<LiveEvent>> {
        let (sender, receiver) = mpsc::channel(RELAY_CAPACITY);
        self.relay.set(sender).ok().map(|()| receiver)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(report_id: i64) -> LiveEvent {
        LiveEvent {
            jurisdiction_ids: vec![3, 1],
            at: "2026-01-05T09:00:00Z".parse().unwrap(),
            kind: LiveEventKind::ReportAccepted {
                report_id,
                incident_id: 7,
                category: "pothole".into(),
                lon: -71.06,
                lat: 42.36,
            },
        }
    }

    #[tokio::test]
    async fn listeners_get_events_published_after_they_subscribe() {
        let feed = LiveFeed::new(8);
        assert_eq!(feed.publish(accepted(1)), 0);
        let mut listener = feed.subscribe();
        assert_eq!(feed.publish(accepted(2)), 1);
        assert_eq!(listener.recv().await.unwrap(), accepted(2));
    }

    #[test]
    fn events_serialize_flat_with_their_type() {
        let json = serde_json::to_value(accepted(5)).unwrap();
        assert_eq!(json["type"], "report_accepted");
        assert_eq!(json["report_id"], 5);
        assert_eq!(json["at"], "2026-01-05T09:00:00Z");
    }
}
