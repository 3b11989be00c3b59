//! Content-addressed photo storage.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use tokio::io::AsyncWriteExt;

use super::{PhotoError, Result};

/// Stores photos under their sha256; a photo stored twice is kept once.
#[async_trait]
pub trait PhotoStore: Send + Sync {
    /// Stores `bytes` under `sha256` (lowercase hex of the bytes' SHA-256).
    async fn put(&self, sha256: &str, bytes: &[u8]) -> Result<()>;
    /// The bytes stored under `sha256`, or `None` when there are none.
    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>>;
}

/// True for exactly 64 lowercase hex characters (also keeps ids out of path tricks).
pub fn is_sha256_hex(id: &str) -> bool {
    id.len() == 64
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Photos as files `ROOT/ab/cd/<sha256>.jpg`, written atomically (temp file + rename),
/// so a crash never leaves a half-written photo under its final name.
#[derive(Debug, Clone)]
pub struct DirPhotoStore {
    root: PathBuf,
}

static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

impl DirPhotoStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where the photo with this id lives (two levels of sharding keep folders small).
    pub fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        if !is_sha256_hex(sha256) {
            return Err(PhotoError::InvalidId(sha256.to_owned()));
        }
        Ok(self
            .root
            .join(&sha256[0..2])
            .join(&sha256[2..4])
            .join(format!("{sha256}.jpg")))
    }
}

fn io_error(path: &Path, source: std::io::Error) -> PhotoError {
    PhotoError::Io {
        path: path.display().to_string(),
        source,
    }
}

#[async_trait]
impl PhotoStore for DirPhotoStore {
    async fn put(&self, sha256: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(sha256)?;
        if tokio::fs::try_exists(&path).await.unwrap_or(false) {
            return Ok(());
        }
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_error(&dir, e))?;

        let unique = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let temp = dir.join(format!(".{sha256}.{}.{unique}.tmp", std::process::id()));
        let write = async {
            let mut file = tokio::fs::File::create(&temp).await?;
            file.write_all(bytes).await?;
            file.sync_all().await
        };
        if let Err(e) = write.await {
            let _ = tokio::fs::remove_file(&temp).await;
            return Err(io_error(&temp, e));
        }
        tokio::fs::rename(&temp, &path)
            .await
            .map_err(|e| io_error(&path, e))
    }

    async fn get(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        let path = self.path_of(sha256)?;
        match tokio::fs::read(&path).await {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }
}
