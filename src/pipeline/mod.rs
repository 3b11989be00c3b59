//! The one pipeline every report goes through, whichever door it came in by:
//! intake → classification → routing → dedup → dispatch → SLA.
//!
//! [`Pipeline::submit_batch`] checks each submission, decodes its photo off the
//! executor, asks the classifier, routes the position, looks for a placeholder,
//! picks the contract candidates and deadlines, and hands the store one
//! [`ReportPlan`] per accepted report; the store dedups, dispatches and writes
//! atomically. The HTTP API submits one at a time, replay in batches.

mod decide;
mod state;

pub use decide::{CategoryDecision, decide_category};
pub use state::CityState;

use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use geo::Point;
use jiff::Timestamp;

use crate::classify::{Classifier, ClassifyError};
use crate::events::Actor;
use crate::events::live::{LiveEvent, LiveEventKind, LiveFeed};
use crate::incidents::{DEFAULT_MIN_PHOTO_SIMILARITY, DedupRule, PlaceholderDetector};
use crate::photos::{PhotoError, PhotoLimits, PhotoStore, ProcessedPhoto};
use crate::reports::{ReportError, Submission, check_text, resolve_position};
use crate::routing::RouteOutcome;
use crate::store::{RecordOutcome, ReportPlan, SharedStore, StoreError, StoredClassification};

/// Why a submission was not accepted. Nothing is stored for it.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Report(#[from] ReportError),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error(
        "the position (lat {lat}, lon {lon}) is outside every jurisdiction cityfix serves{hint}"
    )]
    OutsideJurisdictions {
        lat: f64,
        lon: f64,
        hint: &'static str,
    },
    #[error("no city is set up yet: import boundaries and apply a set-up file first")]
    NotSetUp,
    #[error(
        "the stored set-up no longer applies to the boundaries ({0}): apply a set-up that \
         matches them (`cityfix setup apply`), then reload"
    )]
    SetupNoLongerApplies(String),
    #[error("classification failed: {0}")]
    Classify(#[from] ClassifyError),
    #[error("this Idempotency-Key was already used for a different submission")]
    IdempotencyConflict,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntakeError {
    /// A short stable code for summaries and error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Report(ReportError::MissingPosition { .. }) => "missing_position",
            Self::Report(ReportError::UnusableExifGps { .. }) => "missing_position",
            Self::Report(ReportError::UnknownCategory { .. }) => "unknown_category",
            Self::Report(ReportError::MissingCategory { .. }) => "missing_category",
            Self::Report(ReportError::DescriptionTooLong { .. }) => "description_too_long",
            Self::Report(ReportError::InvisibleCharacter { .. }) => "invalid_text",
            Self::Report(_) => "invalid_position",
            Self::Photo(PhotoError::TooLarge(_)) => "photo_too_large",
            Self::Photo(_) => "invalid_photo",
            Self::OutsideJurisdictions { .. } => "outside_jurisdictions",
            Self::NotSetUp => "not_set_up",
            Self::SetupNoLongerApplies(_) => "setup_no_longer_applies",
            Self::Classify(_) => "classification_failed",
            Self::IdempotencyConflict => "idempotency_key_reused",
            Self::Store(_) => "store_failed",
        }
    }
}

/// What happened to an accepted submission.
#[derive(Debug, Clone, PartialEq)]
pub struct Intake {
    pub outcome: RecordOutcome,
    pub jurisdiction_id: i64,
    pub category: String,
    pub placeholder: bool,
    /// The source system's closing instant, for replay's SLA figures.
    pub source_closed_at: Option<Timestamp>,
}

/// A stored after-photo and the classifier's view of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AfterPhoto {
    pub sha256: String,
    /// `None` when no classifier is configured.
    pub problem_still_visible: Option<bool>,
}

/// The pipeline with everything it needs; shared by the server's handlers.
pub struct Pipeline {
    store: SharedStore,
    city: RwLock<Arc<CityState>>,
    classifier: Option<Arc<dyn Classifier>>,
    photos: Arc<dyn PhotoStore>,
    photo_limits: PhotoLimits,
    placeholders: Mutex<PlaceholderDetector>,
    live: LiveFeed,
    max_description_chars: usize,
    triage_threshold: f32,
    /// Photo decodes running at once: one per core, so a burst of large
    /// uploads queues instead of taking every core and gigabytes of memory.
    decode_slots: tokio::sync::Semaphore,
}

/// How a pipeline is put together.
pub struct PipelineParts {
    pub store: SharedStore,
    pub classifier: Option<Arc<dyn Classifier>>,
    pub photos: Arc<dyn PhotoStore>,
    pub photo_limits: PhotoLimits,
    pub live: LiveFeed,
    pub max_description_chars: usize,
    pub triage_threshold: f32,
}

impl Pipeline {
    /// Loads the jurisdictions and the set-up from the store.
    pub async fn load(parts: PipelineParts) -> Result<Self, IntakeError> {
        let city = CityState::load(parts.store.as_ref()).await?;
        let placeholders = PlaceholderDetector::new(
            city.setup()
                .map(|setup| setup.placeholders.clone())
                .unwrap_or_default(),
        );
        let mut photo_limits = parts.photo_limits;
        if let Some(classifier) = &parts.classifier {
            photo_limits.model_input_px = classifier.input_px();
        }
        Ok(Self {
            store: parts.store,
            city: RwLock::new(Arc::new(city)),
            classifier: parts.classifier,
            photos: parts.photos,
            photo_limits,
            placeholders: Mutex::new(placeholders),
            live: parts.live,
            max_description_chars: parts.max_description_chars,
            triage_threshold: parts.triage_threshold,
            decode_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        })
    }

    /// The current jurisdictions and set-up.
    pub fn city(&self) -> Arc<CityState> {
        self.city
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Reloads jurisdictions and set-up after they changed in the store. Reports
    /// already being planned finish on the state they started with. A reload
    /// never turns intake off: when the stored set-up no longer applies to the
    /// stored boundaries (a contract names a retired jurisdiction), the state in
    /// force stays and the reload is refused.
    pub async fn reload(&self) -> Result<(), IntakeError> {
        let city = CityState::load(self.store.as_ref()).await?;
        if self.city().setup().is_some()
            && let Err(err) = city.require_setup()
        {
            return Err(err);
        }
        let known = city
            .setup()
            .map(|setup| setup.placeholders.clone())
            .unwrap_or_default();
        self.placeholders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .set_known(known);
        *self
            .city
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(city);
        Ok(())
    }

    /// The store behind the pipeline.
    pub fn store(&self) -> &SharedStore {
        &self.store
    }

    /// The photo store behind the pipeline.
    pub fn photos(&self) -> &Arc<dyn PhotoStore> {
        &self.photos
    }

    /// Runs one submission through the pipeline.
    pub async fn submit(&self, submission: Submission) -> Result<Intake, IntakeError> {
        self.submit_batch(vec![submission])
            .await
            .pop()
            .unwrap_or(Err(IntakeError::NotSetUp))
    }

    /// Runs submissions through the pipeline; one answer per submission, in order.
    /// The accepted ones are stored in one store call.
    pub async fn submit_batch(
        &self,
        submissions: Vec<Submission>,
    ) -> Vec<Result<Intake, IntakeError>> {
        let city = self.city();
        let mut answers: Vec<Option<Result<Intake, IntakeError>>> =
            Vec::with_capacity(submissions.len());
        let mut plans = Vec::new();
        let mut planned_at = Vec::new();
        for submission in submissions {
            match self.plan(&city, submission).await {
                Ok(plan) => {
                    planned_at.push(answers.len());
                    answers.push(None);
                    plans.push(plan);
                }
                Err(err) => answers.push(Some(Err(err))),
            }
        }

        let planned: Vec<Planned> = plans.iter().map(Planned::of).collect();
        if !plans.is_empty() {
            match self.store.record_reports(plans).await {
                Ok(outcomes) => {
                    for ((slot, outcome), planned) in planned_at.iter().zip(outcomes).zip(planned) {
                        answers[*slot] = Some(self.accepted(outcome, planned));
                    }
                }
                Err(err) => {
                    let message = err.to_string();
                    tracing::error!(error = %message, "storing reports failed");
                    for slot in planned_at {
                        let failed = StoreError::Conflict(message.clone());
                        answers[slot] = Some(Err(IntakeError::Store(failed)));
                    }
                }
            }
        }
        answers
            .into_iter()
            .map(|answer| answer.unwrap_or(Err(IntakeError::NotSetUp)))
            .collect()
    }

    fn accepted(&self, outcome: RecordOutcome, planned: Planned) -> Result<Intake, IntakeError> {
        if let RecordOutcome::AlreadyRecorded {
            same_content: false,
            ..
        } = outcome
        {
            return Err(IntakeError::IdempotencyConflict);
        }
        let intake = Intake {
            outcome,
            jurisdiction_id: planned.jurisdiction_ids[0],
            category: planned.category,
            placeholder: planned.placeholder,
            source_closed_at: planned.source_closed_at,
        };
        if let RecordOutcome::Recorded {
            report_id,
            incident_id,
            ..
        } = intake.outcome
        {
            self.live.publish(LiveEvent {
                jurisdiction_ids: planned.jurisdiction_ids,
                at: planned.received_at,
                kind: LiveEventKind::ReportAccepted {
                    report_id,
                    incident_id,
                    category: intake.category.clone(),
                    lon: planned.position.x(),
                    lat: planned.position.y(),
                },
            });
        }
        Ok(intake)
    }

    async fn plan(
        &self,
        city: &CityState,
        submission: Submission,
    ) -> Result<ReportPlan, IntakeError> {
        let setup = city.require_setup()?;
        check_text(&submission, self.max_description_chars)?;
        let received_at = submission.received_at.unwrap_or_else(Timestamp::now);
        let fingerprint = fingerprint(&submission);

        let photo = match &submission.photo {
            Some(bytes) => Some(self.accept_photo(bytes.clone()).await?),
            None => None,
        };
        let (position, position_source) = resolve_position(
            &submission,
            photo.as_ref().and_then(|p| p.exif_position),
            photo.as_ref().and_then(|p| p.exif_gps_problem),
        )?;
        let classification = match (&photo, &self.classifier) {
            (Some(photo), Some(classifier)) => Some(classifier.classify(photo).await?),
            _ => None,
        };
        let decision = decide_category(
            setup,
            submission.category.as_deref(),
            classification.as_ref(),
            self.triage_threshold,
        )?;

        let routing = match city.router().route(position, submission.accuracy_m) {
            RouteOutcome::Routed(routing) => routing,
            RouteOutcome::Outside { likely_swapped } => {
                return Err(IntakeError::OutsideJurisdictions {
                    lat: position.y(),
                    lon: position.x(),
                    hint: if likely_swapped {
                        "; lat and lon look swapped (GeoJSON order is [lon, lat])"
                    } else {
                        ""
                    },
                });
            }
        };
        let placeholder = self
            .placeholders
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .observe(position, &decision.category)
            .is_some();

        let category = setup
            .category(&decision.category)
            .ok_or(IntakeError::NotSetUp)?;
        let mut scope = vec![routing.jurisdiction_id];
        scope.extend(&routing.containing);
        let deadlines = setup
            .sla
            .deadlines_in(
                &scope,
                &category.slug,
                category.default_priority,
                received_at,
            )
            .map_err(|err| tracing::debug!(error = %err, "no deadlines for this work order"))
            .ok();
        let candidates = city.candidates(&routing, &category.slug, received_at);

        if let Some(sha256) = photo.as_ref().map(|p| p.sha256.clone()) {
            tracing::debug!(photo.sha256 = %sha256, "photo stored");
        }
        Ok(ReportPlan {
            source: submission.source,
            source_id: submission.source_id,
            fingerprint: Some(fingerprint),
            received_at,
            position,
            accuracy_m: submission.accuracy_m,
            position_source,
            citizen_category: submission.category,
            source_category: submission.source_category,
            category: category.slug.clone(),
            description: submission.description,
            photo_sha256: photo.map(|p| p.sha256),
            classification: classification.map(|c| StoredClassification {
                label: c.label,
                confidence: c.confidence,
                embedding: c.embedding,
                model_sha256: c.model_sha256,
            }),
            triage_reason: decision.triage_reason,
            routing,
            placeholder,
            dedup: DedupRule {
                radius_m: category.dedup_radius_m,
                window_s: category.dedup_window_s,
                // Tied to the shipped model's embedding space; only used when a
                // photo was classified.
                min_photo_similarity: Some(DEFAULT_MIN_PHOTO_SIMILARITY),
            },
            default_priority: category.default_priority,
            escalate_after_reports: category.escalate_after_reports,
            candidates,
            deadlines,
            source_closed_at: submission.source_closed_at,
            actor: Actor::Citizen,
        })
    }

    /// Checks and stores a contractor's after-photo and asks the classifier
    /// (when there is one) whether the problem is still visible: the model is
    /// confident the photo shows a problem category.
    pub async fn after_photo(&self, bytes: Bytes) -> Result<AfterPhoto, IntakeError> {
        let photo = self.accept_photo(bytes).await?;
        let problem_still_visible = match &self.classifier {
            Some(classifier) => {
                let view = classifier.classify(&photo).await?;
                Some(view.category.is_some() && view.is_confident(self.triage_threshold))
            }
            None => None,
        };
        Ok(AfterPhoto {
            sha256: photo.sha256,
            problem_still_visible,
        })
    }

    /// Checks, decodes and stores a photo; the decode runs off the executor.
    async fn accept_photo(&self, bytes: Bytes) -> Result<ProcessedPhoto, IntakeError> {
        let _slot = self.decode_slots.acquire().await.map_err(|_| {
            IntakeError::Store(StoreError::Conflict("the pipeline is shutting down".into()))
        })?;
        let limits = self.photo_limits.clone();
        let processed =
            tokio::task::spawn_blocking(move || crate::photos::process(&bytes, &limits))
                .await
                .map_err(|err| {
                    IntakeError::Store(StoreError::Conflict(format!("photo task failed: {err}")))
                })??;
        self.photos.put(&processed.sha256, &processed.bytes).await?;
        Ok(processed)
    }
}

/// What the answer to a submission needs from its plan once the store took it.
struct Planned {
    /// The routed jurisdiction first, then those containing it.
    jurisdiction_ids: Vec<i64>,
    category: String,
    placeholder: bool,
    source_closed_at: Option<Timestamp>,
    position: Point<f64>,
    received_at: Timestamp,
}

impl Planned {
    fn of(plan: &ReportPlan) -> Self {
        let mut jurisdiction_ids = vec![plan.routing.jurisdiction_id];
        jurisdiction_ids.extend(&plan.routing.containing);
        Self {
            jurisdiction_ids,
            category: plan.category.clone(),
            placeholder: plan.placeholder,
            source_closed_at: plan.source_closed_at,
            position: plan.position,
            received_at: plan.received_at,
        }
    }
}

/// A hash of what the submission says, so that a retry with the same key but
/// other content is told apart from a true retry.
fn fingerprint(submission: &Submission) -> String {
    hex::encode(submission.content_digest())
}

#[cfg(test)]
mod tests;
