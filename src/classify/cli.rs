//! `cityfix classify PHOTO…`: label, confidence and time per photo.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use super::{ClassifierConfig, ClassifyError, OnnxClassifier, Result};
use crate::photos::{self, PhotoLimits};

/// Classifies each photo and prints `path  label  category  confidence  ms` lines to stdout.
/// A photo that cannot be read is reported on its line and the others still run;
/// returns how many failed.
pub fn run_cli(paths: &[PathBuf], config: &ClassifierConfig) -> Result<usize> {
    let classifier = OnnxClassifier::load(config)?;
    let limits = PhotoLimits {
        model_input_px: classifier.input_px(),
        ..PhotoLimits::default()
    };
    let mut out = std::io::stdout().lock();
    let io = |e: std::io::Error| ClassifyError::Io {
        path: "stdout".into(),
        source: e,
    };
    writeln!(out, "photo\tlabel\tcategory\tconfidence\tms").map_err(io)?;

    let mut failed = 0;
    for path in paths {
        let started = Instant::now();
        let result = std::fs::read(path)
            .map_err(|source| ClassifyError::Io {
                path: path.display().to_string(),
                source,
            })
            .and_then(|bytes| Ok(photos::model_input(&bytes, &limits)?))
            .and_then(|image| classifier.classify_image_blocking(Arc::new(image)));
        let elapsed_ms = started.elapsed().as_secs_f64() * 1e3;
        match result {
            Ok(c) => {
                let category = c.category.as_deref().unwrap_or("-");
                writeln!(
                    out,
                    "{}\t{}\t{category}\t{:.3}\t{elapsed_ms:.1}",
                    path.display(),
                    c.label,
                    c.confidence
                )
                .map_err(io)?;
            }
            Err(e) => {
                failed += 1;
                writeln!(out, "{}\terror: {e}", path.display()).map_err(io)?;
            }
        }
    }
    Ok(failed)
}
