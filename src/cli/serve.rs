//! `cityfix serve`: the HTTP API on the configured store, until SIGTERM or Ctrl-C.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::analytics::AnalyticsView;
use crate::auth::Authenticator;
use crate::classify::{Classifier, OnnxClassifier};
use crate::clock::SystemClock;
use crate::config::{GlobalConfig, ServeConfig, open_store};
use crate::events::live::LiveFeed;
use crate::http::idempotency::IdempotencyCache;
use crate::http::{AppState, Limits, app};
use crate::photos::{DirPhotoStore, PhotoLimits};
use crate::pipeline::{CityState, Pipeline, PipelineParts};
use crate::sla::Webhook;
use crate::store::SharedStore;
use crate::work_orders::scanner::{BreachScanner, SCAN_INTERVAL};

pub(super) async fn run(global: &GlobalConfig, config: &ServeConfig) -> Result<()> {
    let store = open_store(global).await?;
    tracing::info!(version = env!("CARGO_PKG_VERSION"), store = %store.describe().await?, "cityfix starting");

    let classifier = load_classifier(config);
    let limits = Limits::default();
    let live = LiveFeed::default();
    match store.relay_live_feed(&live).await {
        Ok(Some(channel)) => {
            tracing::info!(%channel, "live feed shared with the other processes on this database");
        }
        Ok(None) => {}
        Err(err) => {
            tracing::warn!(error = %err, "live feed not shared: supervisors see this process's events only");
        }
    }
    let pipeline = Pipeline::load(PipelineParts {
        store: store.clone(),
        classifier,
        photos: Arc::new(DirPhotoStore::new(global.data_dir.join("photos"))),
        photo_limits: PhotoLimits {
            max_bytes: limits.max_photo_bytes,
            ..PhotoLimits::default()
        },
        live: live.clone(),
        max_description_chars: limits.max_description_chars,
        triage_threshold: config.classifier().triage_threshold,
    })
    .await?;
    let city = pipeline.city();
    tracing::info!(
        jurisdictions = city.router().len(),
        city = city_name(&city),
        "city loaded"
    );
    if city.setup().is_none() {
        tracing::warn!("no set-up applied: reports are refused until `cityfix setup apply` runs");
    }

    let scanner = breach_scanner(store.clone(), config)?.with_live_feed(live.clone());
    let (stop_scanner, scanner_stopped) = tokio::sync::oneshot::channel::<()>();
    let scanner_task = tokio::spawn(scanner.run(SCAN_INTERVAL, async move {
        let _ = scanner_stopped.await;
    }));

    let analytics = AnalyticsView::start(store.clone(), &live)
        .await
        .context("building the analytics view")?;
    let pipeline = Arc::new(pipeline);
    reload_on_hangup(pipeline.clone());
    let state = AppState {
        pipeline,
        auth: Authenticator::new(store.clone()),
        live,
        analytics,
        idempotency: Arc::new(IdempotencyCache::default()),
        limits,
    };
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    tracing::info!(listen = %config.listen, "serving the API");
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("the server stopped")?;
    let _ = stop_scanner.send(());
    if let Err(err) = scanner_task.await {
        tracing::warn!(error = %err, "the breach scanner ended abnormally");
    }
    tracing::info!("stopped");
    Ok(())
}

/// The breach scanner, posting to the configured webhook when there is one.
fn breach_scanner(store: SharedStore, config: &ServeConfig) -> Result<BreachScanner> {
    let webhook = match &config.webhook_url {
        Some(url) => {
            let webhook = Webhook::new(url)?;
            tracing::info!(url = %webhook.url(), "escalations are posted to the webhook");
            Some(webhook)
        }
        None => {
            tracing::info!("no webhook configured: escalations go to the overdue queue only");
            None
        }
    };
    tracing::info!(
        interval_s = SCAN_INTERVAL.as_secs(),
        "breach scanner started"
    );
    Ok(BreachScanner::new(store, Arc::new(SystemClock), webhook))
}

fn load_classifier(config: &ServeConfig) -> Option<Arc<dyn Classifier>> {
    if config.no_classifier {
        tracing::info!("classifier off (--no-classifier): the citizen's category is used");
        return None;
    }
    if !config.model.exists() {
        tracing::warn!(model = %config.model.display(), "no model file: the citizen's category is used");
        return None;
    }
    match OnnxClassifier::load(&config.classifier()) {
        Ok(classifier) => {
            tracing::info!(
                model = %config.model.display(),
                sha256 = %classifier.model_sha256(),
                input_px = classifier.input_px(),
                "classifier ready"
            );
            Some(Arc::new(classifier))
        }
        Err(err) => {
            tracing::warn!(error = %err, "classifier not loaded: the citizen's category is used");
            None
        }
    }
}

/// On SIGHUP, reads the boundaries and the set-up again, so that `boundaries import`
/// and `setup apply` take effect without a restart. A reload that fails leaves the
/// state in force as it was.
fn reload_on_hangup(pipeline: Arc<Pipeline>) {
    let mut hangups = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => hangups,
        Err(err) => {
            tracing::warn!(error = %err, "cannot listen for SIGHUP: restart to reload the set-up");
            return;
        }
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            match pipeline.reload().await {
                Ok(()) => {
                    let city = pipeline.city();
                    tracing::info!(
                        jurisdictions = city.router().len(),
                        city = city_name(&city),
                        "boundaries and set-up reloaded"
                    );
                }
                Err(err) => {
                    tracing::error!(error = %err, "reload failed; the previous boundaries and set-up stay in force");
                }
            }
        }
    });
}

/// The city's name for the logs.
fn city_name(city: &CityState) -> &str {
    city.setup()
        .map_or("(no set-up applied)", |setup| setup.city.as_str())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
