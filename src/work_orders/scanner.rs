//! The breach scanner: a background task of `cityfix serve` that, every
//! [`SCAN_INTERVAL`], claims the deadlines that passed without their step and
//! escalates them (events and the overdue queue in the store, then the live
//! feed and the webhook POST).
//!
//! Exactly once: the store claims each (work order, deadline) with a unique
//! breach row in the transaction that appends the events, so a second
//! scanner on the same store, or the same one after a restart, finds nothing
//! left to claim. The first scan runs at start, so a deadline that passed
//! while the server was down is raised then.
//!
//! History never escalates: a work order's deadlines count only from the
//! instant it was stored. Replayed records are stored after their deadlines
//! (or closed in the source), so the scanner never sees them; a replayed
//! order still open whose deadline lies after the replay is live work and
//! does escalate. The webhook follows the commit: a crash in between loses
//! the POST but not the breach (see [`crate::sla::Webhook`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::events::live::{LiveEvent, LiveEventKind, LiveFeed};
use crate::sla::{EscalationNotice, Webhook};
use crate::store::{SharedStore, StoreError};

/// How often the scanner looks: well inside the minute a breach may wait.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(30);

/// Breaches claimed per store transaction.
const CLAIM_BATCH: usize = 500;

/// Finds and escalates breaches.
pub struct BreachScanner {
    store: SharedStore,
    clock: Arc<dyn Clock>,
    webhook: Option<Webhook>,
    live: Option<LiveFeed>,
}

impl BreachScanner {
    pub fn new(store: SharedStore, clock: Arc<dyn Clock>, webhook: Option<Webhook>) -> Self {
        Self {
            store,
            clock,
            webhook,
            live: None,
        }
    }

    /// Also tells the supervisors' live feed about every breach raised.
    #[must_use]
    pub fn with_live_feed(mut self, live: LiveFeed) -> Self {
        self.live = Some(live);
        self
    }

    /// One pass: claims every breach due now, batch by batch, and posts each
    /// to the webhook. Returns the breaches this pass raised.
    pub async fn scan(&self) -> Result<Vec<EscalationNotice>, StoreError> {
        let now = self.clock.now();
        let mut raised = Vec::new();
        loop {
            let batch = self
                .store
                .claim_breaches(now, self.webhook.is_some(), CLAIM_BATCH)
                .await?;
            let full = batch.len() == CLAIM_BATCH;
            for notice in &batch {
                tracing::info!(
                    work_order.id = notice.work_order_id,
                    jurisdiction.id = notice.jurisdiction_id,
                    deadline = notice.deadline.as_str(),
                    due_at = %notice.due_at,
                    "deadline breached; escalated"
                );
                self.publish(notice).await;
                self.notify(notice).await;
            }
            raised.extend(batch);
            if !full {
                return Ok(raised);
            }
        }
    }

    /// Puts the breach on the live feed, for the supervisors of the order's
    /// jurisdiction and of those containing it.
    async fn publish(&self, notice: &EscalationNotice) {
        let Some(live) = &self.live else {
            return;
        };
        let scope = match self.store.work_order(notice.work_order_id).await {
            Ok(Some(detail)) => detail.scope,
            outcome => {
                if let Err(err) = outcome {
                    tracing::warn!(work_order.id = notice.work_order_id, error = %err, "work order not read; the breach reaches its own jurisdiction's feed only");
                }
                notice.jurisdiction_id.into_iter().collect()
            }
        };
        live.publish(LiveEvent {
            jurisdiction_ids: scope,
            at: notice.detected_at,
            kind: LiveEventKind::DeadlineBreached {
                incident_id: notice.incident_id,
                work_order_id: notice.work_order_id,
                category: notice.category.clone(),
                contractor: notice.contractor.clone(),
                deadline: notice.deadline,
                due_at: notice.due_at,
            },
        });
    }

    async fn notify(&self, notice: &EscalationNotice) {
        let Some(webhook) = &self.webhook else {
            return;
        };
        if let Err(err) = webhook.send(notice).await {
            tracing::error!(
                work_order.id = notice.work_order_id,
                error = %err,
                "escalation webhook not delivered; the breach is in the overdue queue"
            );
        }
    }

    /// Scans at once, then every `interval`, until `shutdown` completes. A
    /// failed scan is logged and retried at the next tick.
    pub async fn run(self, interval: Duration, shutdown: impl Future<Output = ()>) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = ticks.tick() => {
                    if let Err(err) = self.scan().await {
                        tracing::error!(error = %err, "breach scan failed; retrying at the next tick");
                    }
                }
            }
        }
    }
}
