//! `GET /api/v1/events/stream`: the live feed as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;

use crate::auth::Supervisor;
use crate::events::live::{LiveEvent, LiveFeed};

/// Streams new reports, status changes and missed deadlines in the supervisor's
/// jurisdiction.
///
/// Each SSE event is named after its kind (`report_accepted`, `status_changed`,
/// `deadline_breached`) and carries the event as JSON. A listener that fell
/// behind gets a `lagged` event saying how many events it missed.
pub async fn stream(
    supervisor: Supervisor,
    State(feed): State<LiveFeed>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    tracing::info!(
        jurisdiction.id = supervisor.jurisdiction_id,
        "live stream opened"
    );
    let jurisdiction_id = supervisor.jurisdiction_id;
    let events = BroadcastStream::new(feed.subscribe()).filter_map(move |received| {
        let event = match received {
            Ok(event) if event.jurisdiction_ids.contains(&jurisdiction_id) => sse_event(&event),
            Ok(_) => None,
            Err(BroadcastStreamRecvError::Lagged(missed)) => Some(
                Event::default()
                    .event("lagged")
                    .data(format!("{{\"missed\":{missed}}}")),
            ),
        };
        futures::future::ready(event.map(Ok))
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn sse_event(event: &LiveEvent) -> Option<Event> {
    match Event::default().event(event.name()).json_data(event) {
        Ok(sse) => Some(sse),
        Err(err) => {
            tracing::warn!(error = %err, "live event could not be serialized; skipped");
            None
        }
    }
}
