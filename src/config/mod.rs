//! Configuration, typed and read once: command-line flags with environment
//! fallbacks. With no setting at all, cityfix keeps its state in
//! `./cityfix-data` (embedded SQLite) and listens on 127.0.0.1:8080.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use crate::classify::ClassifierConfig;
use crate::http::logging::LogFormat;
use crate::store::{PgStore, SharedStore, SqliteStore, StoreError};

/// Settings every command shares.
#[derive(Debug, Clone, clap::Args)]
pub struct GlobalConfig {
    /// Where the embedded store, photos and lock file live.
    #[arg(
        long,
        env = "CITYFIX_DATA_DIR",
        default_value = "./cityfix-data",
        global = true
    )]
    pub data_dir: PathBuf,

    /// A postgres:// URL selects PostgreSQL + PostGIS instead of the embedded file.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,

    /// Log lines as text (default) or JSON.
    #[arg(
        long,
        env = "CITYFIX_LOG_FORMAT",
        value_enum,
        default_value = "text",
        global = true
    )]
    pub log_format: LogFormat,
}

/// Settings of `cityfix serve`.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "CITYFIX_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The ONNX classifier; without it, the citizen's category is used.
    #[arg(
        long,
        env = "CITYFIX_MODEL",
        default_value = "models/street_classifier.onnx"
    )]
    pub model: PathBuf,

    /// Labels of the classifier's outputs.
    #[arg(long, env = "CITYFIX_LABELS", default_value = "models/labels.csv")]
    pub labels: PathBuf,

    /// Run without the classifier even when the model is there.
    #[arg(long)]
    pub no_classifier: bool,

    /// Below this confidence a report goes to triage.
    #[arg(long, env = "CITYFIX_TRIAGE_THRESHOLD")]
    pub triage_threshold: Option<f32>,

    /// POST escalations to this URL.
    #[arg(long, env = "CITYFIX_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
}

impl ServeConfig {
    /// The classifier settings these flags describe.
    pub fn classifier(&self) -> ClassifierConfig {
        let defaults = ClassifierConfig::default();
        ClassifierConfig {
            model_path: self.model.clone(),
            labels_path: self.labels.clone(),
            triage_threshold: self.triage_threshold.unwrap_or(defaults.triage_threshold),
            ..defaults
        }
    }
}

/// Opens the store the configuration names, for recording reports (`serve`,
/// `replay`); the embedded store then refuses a second such process.
pub async fn open_store(config: &GlobalConfig) -> Result<SharedStore, StoreError> {
    open(config, true).await
}

/// Opens the store for administrative commands that may run beside a server.
pub async fn open_admin_store(config: &GlobalConfig) -> Result<SharedStore, StoreError> {
    open(config, false).await
}

async fn open(config: &GlobalConfig, records_reports: bool) -> Result<SharedStore, StoreError> {
    match &config.database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(Arc::new(PgStore::open(url).await?))
        }
        Some(url) => Err(StoreError::Conflict(format!(
            "DATABASE_URL must be a postgres:// URL (got {:?}); leave it unset for the embedded store",
            redact(url)
        ))),
        None if records_reports => Ok(Arc::new(SqliteStore::open(&config.data_dir).await?)),
        None => Ok(Arc::new(SqliteStore::open_shared(&config.data_dir).await?)),
    }
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}
