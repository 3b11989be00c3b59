//! Loading the ONNX Runtime shared library once per process.

use std::path::PathBuf;
use std::sync::Mutex;

use ort::environment::Environment;

use super::{ClassifyError, Result};

/// Where `scripts/fetch-onnxruntime.sh` puts the library, relative to the working directory.
pub const FETCHED_RUNTIME_PATH: &str = ".onnxruntime/libonnxruntime.so";

/// `ORT_DYLIB_PATH` when set, else the fetched library (also looked up beside the crate root).
pub fn default_runtime_path() -> PathBuf {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(path);
    }
    let local = PathBuf::from(FETCHED_RUNTIME_PATH);
    if local.exists() {
        return local;
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(FETCHED_RUNTIME_PATH)
}

// ONNX Runtime allows one environment per process; every session shares it.
static ENVIRONMENT: Mutex<Option<Environment>> = Mutex::new(None);

/// Loads the runtime library from `default_runtime_path()` (first call) and returns the
/// process-wide environment. A missing or too old library is an error naming the fix.
pub fn init_runtime() -> Result<Environment> {
    let mut slot = ENVIRONMENT
        .lock()
        .map_err(|_| ClassifyError::Inference("runtime lock poisoned".into()))?;
    if let Some(environment) = slot.as_ref() {
        return Ok(environment.clone());
    }
    let path = default_runtime_path();
    let runtime_error = |message: String| ClassifyError::Runtime {
        path: path.display().to_string(),
        message,
    };
    if !path.exists() {
        return Err(runtime_error("file not found".into()));
    }
    let environment = ort::init_from(&path)
        .map_err(|e| runtime_error(e.to_string()))?
        .with_name("cityfix")
        .with_telemetry(false)
        .build()
        .map_err(|e| runtime_error(e.to_string()))?;
    tracing::info!(path = %path.display(), "ONNX Runtime loaded");
    *slot = Some(environment.clone());
    Ok(environment)
}
