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
//! does escalate.
//!
//! Webhook notices are delivered at least once. The POST follows the commit of
//! the breach, whose row says the notice is due once a lease has passed; a
//! POST that fails is due again later (30 s, then twice as long each time, at
//! most an hour, [`MAX_NOTICE_ATTEMPTS`] in all), and so is a notice whose
//! sender stopped before it could say how the POST went. Every scan sends the
//! notices that are due, from whichever process claimed the breach.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::clock::Clock;
use crate::events::live::{LiveEvent, LiveEventKind, LiveFeed};
use crate::sla::{EscalationNotice, Webhook};
use crate::store::{NoticeDelivery, SharedStore, StoreError};

/// How often the scanner looks: well inside the minute a breach may wait.
pub const SCAN_INTERVAL: Duration = Duration::from_secs(30);

/// Breaches claimed per store transaction.
const CLAIM_BATCH: usize = 500;

/// Earlier notices a pass posts at most, so that a backlog never holds up
/// the claiming of new breaches for long.
const PENDING_PER_SCAN: usize = 100;

/// How long a notice being sent stays its sender's: longer than one delivery
/// with the webhook's own quick retries takes.
const NOTICE_LEASE: SignedDuration = SignedDuration::from_mins(2);

/// Deliveries of one notice before it is given up (about five hours of retries).
pub const MAX_NOTICE_ATTEMPTS: u32 = 12;

/// The pause after the `attempts`-th failed delivery of a notice.
pub fn notice_retry_pause(attempts: u32) -> SignedDuration {
    let doubled = 30_i64.saturating_mul(1_i64 << attempts.saturating_sub(1).min(20));
    SignedDuration::from_secs(doubled.min(3600))
}

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

    /// One pass: claims every breach due now, batch by batch, puts each on the
    /// live feed and posts it to the webhook, then posts the earlier notices
    /// that are due again. Once a POST fails, the pass posts nothing more: each
    /// costs the webhook's timeouts, and the notices left are due again later.
    /// Returns the breaches this pass raised.
    pub async fn scan(&self) -> Result<Vec<EscalationNotice>, StoreError> {
        let now = self.clock.now();
        let lease = self.webhook.as_ref().map(|_| lease_end(now));
        let mut receiver_up = self.webhook.is_some();
        let mut raised = Vec::new();
        loop {
            let batch = self.store.claim_breaches(now, lease, CLAIM_BATCH).await?;
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
                if receiver_up {
                    receiver_up = self.deliver(notice, 1).await?;
                }
            }
            raised.extend(batch);
            if !full {
                break;
            }
        }
        // One at a time, so that a notice is leased only while it is being sent.
        for _ in 0..PENDING_PER_SCAN {
            if !receiver_up {
                break;
            }
            let pending = self
                .store
                .claim_pending_notices(now, lease_end(now), 1)
                .await?;
            let Some(due) = pending.first() else {
                break;
            };
            receiver_up = self.deliver(&due.notice, due.attempts).await?;
        }
        Ok(raised)
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

    /// Posts a notice (its `attempts`-th delivery) and records how it went;
    /// says whether the receiver took it.
    async fn deliver(&self, notice: &EscalationNotice, attempts: u32) -> Result<bool, StoreError> {
        let Some(webhook) = &self.webhook else {
            return Ok(false);
        };
        let delivery = match webhook.send(notice).await {
            Ok(()) => NoticeDelivery::Delivered {
                at: self.clock.now(),
            },
            Err(err) if attempts >= MAX_NOTICE_ATTEMPTS => {
                tracing::error!(
                    work_order.id = notice.work_order_id,
                    attempts,
                    error = %err,
                    "escalation webhook not delivered; given up, the breach stays in the overdue queue"
                );
                NoticeDelivery::Failed { retry_at: None }
            }
            Err(err) => {
                let retry_at = self.clock.now() + notice_retry_pause(attempts);
                tracing::warn!(
                    work_order.id = notice.work_order_id,
                    attempts,
                    %retry_at,
                    error = %err,
                    "escalation webhook not delivered; will try again"
                );
                NoticeDelivery::Failed {
                    retry_at: Some(retry_at),
                }
            }
        };
        self.store
            .record_notice_delivery(notice.work_order_id, notice.deadline, delivery)
            .await?;
        Ok(matches!(delivery, NoticeDelivery::Delivered { .. }))
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

fn lease_end(now: Timestamp) -> Timestamp {
    now + NOTICE_LEASE
}
