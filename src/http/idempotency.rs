//! `Idempotency-Key`: a retried submission gets the first answer again.
//!
//! The first request with a key runs; its answer (status and body) is kept for
//! [`IDEMPOTENCY_TTL`]. A retry with the same key and the same content gets
//! that answer back, marked `Idempotent-Replayed: true`, instead of creating a
//! second report. Concurrent retries wait on the key's slot, so only one of
//! them ever runs. The same key with different content is refused (422).
//! 5xx answers are not kept, so a retry after a failure runs again.
//!
//! Shortcoming: the kept answers live in this process's memory; after a
//! restart a retried key runs again. The pipeline's own source-id
//! idempotency (which the key is passed on to) is what survives restarts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE};
use axum::response::Response;
use sha2::{Digest, Sha256};

use super::error::ApiError;
use super::logging::LoggedIds;

/// The request header naming a submission's idempotency key.
pub const IDEMPOTENCY_KEY_HEADER: &str = "idempotency-key";

/// How long an answer is kept for replay.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Above this many kept answers, expired ones are dropped, then the oldest.
const MAX_KEPT_ANSWERS: usize = 100_000;

/// Largest answer body kept; our answers are small JSON documents.
const MAX_KEPT_BODY_BYTES: usize = 1 << 20;

/// A client-chosen key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// The key from the request headers, if one was sent; a malformed one is 400.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, ApiError> {
        let mut sent = headers.get_all(IDEMPOTENCY_KEY_HEADER).iter();
        let Some(value) = sent.next() else {
            return Ok(None);
        };
        if sent.next().is_some() {
            return Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "send one Idempotency-Key header, not several",
            ));
        }
        let key = value.to_str().ok().filter(|key| {
            (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic())
        });
        match key {
            Some(key) => Ok(Some(Self(key.to_owned()))),
            None => Err(ApiError::bad_request(
                "invalid_idempotency_key",
                "Idempotency-Key must be 1 to 255 visible ASCII characters",
            )),
        }
    }

    /// The key as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// SHA-256 of a request's meaningful content, to tell a retry from a reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint([u8; 32]);

impl Fingerprint {
    /// Hashes the given parts in order, each length-prefixed so that
    /// `("ab", "c")` and `("a", "bc")` differ.
    pub fn of(parts: &[&[u8]]) -> Self {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        Self(hasher.finalize().into())
    }
}

#[derive(Debug, Clone)]
struct KeptAnswer {
    fingerprint: Fingerprint,
    status: StatusCode,
    content_type: Option<HeaderValue>,
    ids: Option<LoggedIds>,
    body: bytes::Bytes,
}

#[derive(Debug)]
struct Slot {
    created: Instant,
    answer: tokio::sync::Mutex<Option<KeptAnswer>>,
}

/// The answers kept per idempotency key.
#[derive(Debug, Default)]
pub struct IdempotencyCache {
    slots: Mutex<HashMap<IdempotencyKey, Arc<Slot>>>,
}

impl IdempotencyCache {
    /// Runs `work` once per key: the first caller runs it, later and
    /// concurrent callers with the same key and fingerprint get its answer.
    ///
    /// `work` runs on its own task, so a client that hangs up mid-request
    /// does not cancel a submission half-way; the answer is kept all the same.
    pub async fn run<F>(
        &self,
        key: IdempotencyKey,
        fingerprint: Fingerprint,
        work: F,
    ) -> Result<Response, ApiError>
    where
        F: Future<Output = Response> + Send + 'static,
    {
        let slot = self.slot(key);
        let task = tokio::spawn(async move {
            let mut answer = slot.answer.lock().await;
            if let Some(kept) = answer.as_ref() {
                return replay(kept, fingerprint);
            }
            let response = work.await;
            let (kept, response) = keep(response, fingerprint).await?;
            // Only a filed report is an answer worth repeating: a refusal is
            // not, so the client may correct its request and retry with the key.
            if !kept.status.is_success() {
                return Ok(response);
            }
            *answer = Some(kept);
            Ok(response)
        });
        task.await.map_err(ApiError::internal)?
    }

    fn slot(&self, key: IdempotencyKey) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        if slots.len() >= MAX_KEPT_ANSWERS {
            evict(&mut slots);
        }
        let slot = slots.entry(key).or_insert_with(|| {
            Arc::new(Slot {
                created: Instant::now(),
                answer: tokio::sync::Mutex::new(None),
            })
        });
        if slot.created.elapsed() > IDEMPOTENCY_TTL {
            *slot = Arc::new(Slot {
                created: Instant::now(),
                answer: tokio::sync::Mutex::new(None),
            });
        }
        Arc::clone(slot)
    }

    /// Number of keys currently held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.slots.lock().map_or(0, |slots| slots.len())
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn evict(slots: &mut HashMap<IdempotencyKey, Arc<Slot>>) {
    slots.retain(|_, slot| slot.created.elapsed() <= IDEMPOTENCY_TTL);
    while slots.len() >= MAX_KEPT_ANSWERS {
        let oldest = slots
            .iter()
            .min_by_key(|(_, slot)| slot.created)
            .map(|(key, _)| key.clone());
        match oldest {
            Some(key) => slots.remove(&key),
            None => break,
        };
    }
}

/// Buffers a fresh answer so it can be both returned and kept.
async fn keep(
    response: Response,
    fingerprint: Fingerprint,
) -> Result<(KeptAnswer, Response), ApiError> {
    let (parts, body) = response.into_parts();
    let body = to_bytes(body, MAX_KEPT_BODY_BYTES)
        .await
        .map_err(ApiError::internal)?;
    let kept = KeptAnswer {
        fingerprint,
        status: parts.status,
        content_type: parts.headers.get(CONTENT_TYPE).cloned(),
        ids: parts.extensions.get::<LoggedIds>().copied(),
        body: body.clone(),
    };
    Ok((kept, Response::from_parts(parts, Body::from(body))))
}

fn replay(kept: &KeptAnswer, fingerprint: Fingerprint) -> Result<Response, ApiError> {
    if kept.fingerprint != fingerprint {
        return Err(ApiError::unprocessable(
            "idempotency_key_reused",
            "this Idempotency-Key was already used for a different submission",
        ));
    }
    let mut response = Response::new(Body::from(kept.body.clone()));
    *response.status_mut() = kept.status;
    if let Some(content_type) = &kept.content_type {
        response
            .headers_mut()
            .insert(CONTENT_TYPE, content_type.clone());
    }
    response
        .headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Some(ids) = kept.ids {
        response.extensions_mut().insert(ids);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn key(text: &str) -> IdempotencyKey {
        IdempotencyKey(text.to_owned())
    }

    fn answer(runs: &Arc<AtomicUsize>) -> impl Future<Output = Response> + Send + 'static {
        let runs = Arc::clone(runs);
        async move {
            let n = runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            let mut response = Response::new(Body::from(format!("answer {n}")));
            *response.status_mut() = StatusCode::CREATED;
            response
        }
    }

    async fn body_of(response: Response) -> String {
        let bytes = to_bytes(response.into_body(), 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn concurrent_retries_run_the_work_once() {
        let cache = Arc::new(IdempotencyCache::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let fingerprint = Fingerprint::of(&[b"same"]);

        let calls = (0..8).map(|_| {
            let cache = Arc::clone(&cache);
            let work = answer(&runs);
            tokio::spawn(async move { cache.run(key("k1"), fingerprint, work).await })
        });
        let mut bodies = Vec::new();
        for call in calls {
            let response = call.await.unwrap().unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            bodies.push(body_of(response).await);
        }

        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(bodies.iter().all(|body| body == "answer 0"), "{bodies:?}");
    }

    #[tokio::test]
    async fn the_same_key_with_other_content_is_refused() {
        let cache = IdempotencyCache::default();
        let runs = Arc::new(AtomicUsize::new(0));
        cache
            .run(key("k2"), Fingerprint::of(&[b"first"]), answer(&runs))
            .await
            .unwrap();
        let err = cache
            .run(key("k2"), Fingerprint::of(&[b"second"]), answer(&runs))
            .await
            .unwrap_err();
        assert_eq!(err.code(), "idempotency_key_reused");
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn server_errors_are_not_kept() {
        let cache = IdempotencyCache::default();
        let failing = async {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
            response
        };
        let fingerprint = Fingerprint::of(&[b"x"]);
        cache.run(key("k3"), fingerprint, failing).await.unwrap();

        let runs = Arc::new(AtomicUsize::new(0));
        let retried = cache
            .run(key("k3"), fingerprint, answer(&runs))
            .await
            .unwrap();
        assert_eq!(retried.status(), StatusCode::CREATED);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn fingerprints_are_length_prefixed() {
        assert_ne!(
            Fingerprint::of(&[b"ab", b"c"]),
            Fingerprint::of(&[b"a", b"bc"])
        );
    }
}
