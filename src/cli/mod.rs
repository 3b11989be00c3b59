//! The `cityfix` command line: one subcommand per job, each a thin shell
//! around the library.

mod serve;

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use jiff::Timestamp;

use crate::auth::{TokenCommand, run_token_command};
use crate::boundaries::{ImportOptions, parse_boundaries};
use crate::config::{GlobalConfig, ServeConfig, open_admin_store, open_store};
use crate::events::live::LiveFeed;
use crate::photos::{DirPhotoStore, PhotoLimits};
use crate::pipeline::{Pipeline, PipelineParts};
use crate::setup::{CitySetup, JurisdictionRef};
use crate::store::{BoundaryImport, SharedStore};

/// cityfix: city-issue reports in, dispatched work orders out.
#[derive(Debug, clap::Parser)]
#[command(name = "cityfix", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalConfig,
    #[command(subcommand)]
    pub command: Command,
}

/// The jobs cityfix does.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and the supervisors' dashboard).
    Serve(ServeConfig),
    /// Jurisdiction boundaries.
    #[command(subcommand)]
    Boundaries(BoundariesCommand),
    /// The city's set-up file (categories, contractors, contracts, SLA).
    #[command(subcommand)]
    Setup(SetupCommand),
    /// Feed real service-request records through the intake pipeline.
    Replay(ReplayArgs),
    /// Bearer tokens for contractors and supervisors.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Classify photos with the ONNX model and print label, confidence and time.
    Classify {
        photos: Vec<PathBuf>,
        #[arg(long, default_value = "models/street_classifier.onnx")]
        model: PathBuf,
        #[arg(long, default_value = "models/labels.csv")]
        labels: PathBuf,
    },
    /// Write supervisors' corrected reports as training photos: DIR/<label>/<sha256>.jpg
    /// and DIR/MANIFEST.csv, the layout scripts/train_classifier.py reads.
    ExportTrainingData {
        dir: PathBuf,
        /// The model's labels, which map categories to folder names.
        #[arg(long, default_value = "models/labels.csv")]
        labels: PathBuf,
    },
}

/// `cityfix boundaries …`
#[derive(Debug, clap::Subcommand)]
pub enum BoundariesCommand {
    /// Import a GeoJSON file of jurisdiction polygons as one level.
    Import {
        file: PathBuf,
        /// The level's name (region, municipality, district, …).
        #[arg(long)]
        level: String,
        /// The level's place in the order, higher = more specific; a new level
        /// goes after the existing ones by default.
        #[arg(long)]
        level_rank: Option<u32>,
        /// Property holding each feature's id.
        #[arg(long)]
        id_field: String,
        /// Property holding each feature's name.
        #[arg(long)]
        name_field: String,
        /// IANA time zone of these jurisdictions.
        #[arg(long)]
        tz: String,
        /// Refuse invalid features instead of repairing them.
        #[arg(long)]
        strict: bool,
    },
}

/// `cityfix setup …`
#[derive(Debug, clap::Subcommand)]
pub enum SetupCommand {
    /// Apply a set-up file; applying the same file again changes nothing.
    Apply { file: PathBuf },
}

/// `cityfix replay …`
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// `id,lat,lon,category,created_at,closed_at,status,district` CSV, gzip or plain.
    pub file: PathBuf,
    /// `source_category,category` CSV mapping the city's names to categories;
    /// default: `fixtures/<city>/categories.csv` when it exists.
    #[arg(long)]
    pub categories: Option<PathBuf>,
    /// Source name (part of each record's idempotency key); default: the set-up's city.
    #[arg(long)]
    pub source: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    crate::http::logging::init_tracing(cli.global.log_format)
        .map_err(|e| anyhow::anyhow!("logging: {e}"))?;
    match cli.command {
        Command::Serve(config) => serve::run(&cli.global, &config).await,
        Command::Boundaries(BoundariesCommand::Import {
            file,
            level,
            level_rank,
            id_field,
            name_field,
            tz,
            strict,
        }) => {
            let options = ImportOptions {
                id_field,
                name_field,
                strict,
            };
            let import = BoundaryImport {
                level,
                level_rank,
                time_zone: tz,
                source_name: file.display().to_string(),
            };
            import_boundaries(&cli.global, &file, &options, &import).await
        }
        Command::Setup(SetupCommand::Apply { file }) => apply_setup(&cli.global, &file).await,
        Command::Replay(args) => replay(&cli.global, &args).await,
        Command::Token(command) => token(&cli.global, &command).await,
        Command::Classify {
            photos,
            model,
            labels,
        } => {
            // The classifier's pool blocks on its channels: run it off the runtime.
            tokio::task::spawn_blocking(move || classify(photos, model, labels))
                .await
                .map_err(|e| anyhow::anyhow!("the classify task failed: {e}"))?
        }
        Command::ExportTrainingData { dir, labels } => {
            export_training_data(&cli.global, &dir, &labels).await
        }
    }
}

async fn import_boundaries(
    global: &GlobalConfig,
    file: &Path,
    options: &ImportOptions,
    import: &BoundaryImport,
) -> Result<()> {
    if import.level.trim().is_empty() {
        bail!("--level is empty: name the level (region, municipality, district, …)");
    }
    jiff::tz::TimeZone::get(&import.time_zone)
        .with_context(|| format!("--tz {:?} is not an IANA time zone", import.time_zone))?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let parsed = parse_boundaries(&text, options).with_context(|| format!("{}", file.display()))?;
    let store = open_admin_store(global).await?;
    let outcome = store
        .import_boundaries(import, &parsed, Timestamp::now())
        .await?;

    let mut out = std::io::stdout().lock();
    for warning in &parsed.warnings {
        writeln!(
            out,
            "repaired {} ({}): {}",
            warning.external_id, warning.name, warning.what
        )?;
    }
    if outcome.unchanged {
        writeln!(
            out,
            "{}: unchanged since the last import of level {}",
            file.display(),
            outcome.level
        )?;
    } else {
        writeln!(
            out,
            "level {} (rank {}): {} added, {} changed, {} unchanged, {} retired",
            outcome.level,
            outcome.level_rank,
            outcome.added,
            outcome.changed,
            outcome.kept,
            outcome.retired
        )?;
    }
    Ok(())
}

async fn apply_setup(global: &GlobalConfig, file: &Path) -> Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let store = open_admin_store(global).await?;
    let refs: Vec<JurisdictionRef> = store
        .jurisdictions()
        .await?
        .iter()
        .map(JurisdictionRef::from)
        .collect();
    let setup = CitySetup::parse(&text, &refs).with_context(|| format!("{}", file.display()))?;
    let outcome = store.apply_setup(&setup, &text, Timestamp::now()).await?;

    let mut out = std::io::stdout().lock();
    if outcome.unchanged {
        writeln!(out, "{}: unchanged, nothing to do", file.display())?;
    } else {
        writeln!(
            out,
            "set-up of {} applied: {} categories, {} contractors, {} contracts",
            setup.city, outcome.categories, outcome.contractors, outcome.contracts
        )?;
    }
    Ok(())
}

/// A pipeline without a classifier: replayed records have no photos.
pub async fn pipeline_without_classifier(
    global: &GlobalConfig,
    store: SharedStore,
) -> Result<Pipeline> {
    let limits = crate::http::Limits::default();
    let pipeline = Pipeline::load(PipelineParts {
        store,
        classifier: None,
        photos: std::sync::Arc::new(DirPhotoStore::new(global.data_dir.join("photos"))),
        photo_limits: PhotoLimits::default(),
        live: LiveFeed::default(),
        max_description_chars: limits.max_description_chars,
        triage_threshold: crate::classify::DEFAULT_TRIAGE_THRESHOLD,
    })
    .await?;
    Ok(pipeline)
}

async fn replay(global: &GlobalConfig, args: &ReplayArgs) -> Result<()> {
    let store = open_store(global).await?;
    let pipeline = pipeline_without_classifier(global, store).await?;
    let city = pipeline.city();
    let Some(setup) = city.setup() else {
        bail!("no city is set up: run `cityfix setup apply FILE.toml` first");
    };
    let source = args
        .source
        .clone()
        .unwrap_or_else(|| format!("replay:{}", setup.city.to_lowercase()));

    let default_map = PathBuf::from(format!(
        "fixtures/{}/categories.csv",
        setup.city.to_lowercase()
    ));
    let categories = args
        .categories
        .clone()
        .or_else(|| default_map.is_file().then_some(default_map));
    match &categories {
        Some(path) => tracing::info!(map = %path.display(), "category map"),
        None => tracing::warn!("no category map: every record is filed under `other`"),
    }

    let started = std::time::Instant::now();
    let summary = crate::replay::replay_file(
        &pipeline,
        &source,
        &args.file,
        categories.as_deref(),
        !args.json,
    )
    .await?;
    let elapsed = started.elapsed().as_secs_f64();

    let mut out = std::io::stdout().lock();
    if args.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        write!(out, "{summary}")?;
        writeln!(
            out,
            "replayed in {elapsed:.1} s ({:.0} records/s)",
            summary.records as f64 / elapsed.max(1e-9)
        )?;
    }
    Ok(())
}

async fn token(global: &GlobalConfig, command: &TokenCommand) -> Result<()> {
    let store = open_admin_store(global).await?;
    if let Some(grant) = command.requested_grant() {
        check_grant_target(&store, &grant?).await?;
    }
    let mut out = std::io::stdout().lock();
    let mut notes = std::io::stderr().lock();
    run_token_command(
        command,
        store.as_ref(),
        Timestamp::now(),
        &mut out,
        &mut notes,
    )
    .await?;
    Ok(())
}

async fn check_grant_target(store: &SharedStore, grant: &crate::auth::Grant) -> Result<()> {
    match grant {
        crate::auth::Grant::Supervisor { jurisdiction_id } => {
            let known = store
                .jurisdictions()
                .await?
                .iter()
                .any(|j| j.id == *jurisdiction_id);
            if !known {
                bail!("no jurisdiction has id {jurisdiction_id}: see GET /api/v1/jurisdictions");
            }
        }
        crate::auth::Grant::Contractor { contractor_id } => {
            let Some(text) = store.current_setup_text().await? else {
                bail!("no set-up is applied, so no contractor exists yet");
            };
            let refs: Vec<JurisdictionRef> = store
                .jurisdictions()
                .await?
                .iter()
                .map(JurisdictionRef::from)
                .collect();
            let setup = CitySetup::parse(&text, &refs)?;
            if !setup.contractors.iter().any(|c| &c.slug == contractor_id) {
                bail!("no contractor {contractor_id:?} in the set-up");
            }
        }
    }
    Ok(())
}

fn classify(photos: Vec<PathBuf>, model: PathBuf, labels: PathBuf) -> Result<()> {
    let config = crate::classify::ClassifierConfig {
        model_path: model,
        labels_path: labels,
        ..Default::default()
    };
    let failed = crate::classify::run_cli(&photos, &config)?;
    if failed > 0 {
        bail!(
            "{failed} of {} photos could not be classified",
            photos.len()
        );
    }
    Ok(())
}

async fn export_training_data(global: &GlobalConfig, dir: &Path, labels: &Path) -> Result<()> {
    let labels = crate::classify::read_labels(labels)?;
    let store = open_admin_store(global).await?;
    let photos = DirPhotoStore::new(global.data_dir.join("photos"));
    let summary =
        crate::classify::export_training_data(store.as_ref(), &photos, &labels, dir).await?;

    let mut out = std::io::stdout().lock();
    let written: usize = summary.written.values().sum();
    writeln!(
        out,
        "{written} photos written to {}, {} already listed in its MANIFEST.csv",
        dir.display(),
        summary.already_listed
    )?;
    for (label, count) in &summary.written {
        writeln!(out, "  {label}: {count}")?;
    }
    if !summary.missing_photos.is_empty() {
        writeln!(
            out,
            "photos missing from the photo store for reports {:?}",
            summary.missing_photos
        )?;
    }
    Ok(())
}
