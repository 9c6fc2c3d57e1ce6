//! The stake source: the operator's stake file, read at start and re-read
//! when it changes, published to ingress as a shared, swappable table.

use std::{
    path::{Path, PathBuf},
    sync::{Arc, RwLock},
    time::Duration,
};

use crate::ingress::admission::StakeTable;

/// The stake table ingress reads; replaced whole when the file changes.
pub type SharedStakes = Arc<RwLock<Arc<StakeTable>>>;

/// A stake file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("stake file {path}: {reason}")]
pub struct StakeFileError {
    /// The file.
    pub path: String,
    /// What is wrong.
    pub reason: String,
}

/// Reads the stake file (none: every peer is unstaked).
///
/// # Errors
/// The file cannot be read or is not a stake table.
pub fn load(path: Option<&Path>) -> Result<StakeTable, StakeFileError> {
    let Some(path) = path else {
        return Ok(StakeTable::default());
    };
    let error = |reason: String| StakeFileError {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    StakeTable::parse(&text).map_err(error)
}

/// Re-reads the stake file when its modification time changes (checked every
/// five seconds); a bad file keeps the old table and says so in the log.
pub async fn reload(path: PathBuf, stakes: SharedStakes) {
    let modified = |path: &Path| std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let mut last = modified(&path);
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let now = modified(&path);
        if now == last {
            continue;
        }
        last = now;
        match load(Some(&path)) {
            Ok(table) => {
                if let Ok(mut current) = stakes.write() {
                    *current = Arc::new(table);
                }
                tracing::info!(path = %path.display(), "stake file reloaded");
            }
            Err(error) => tracing::warn!(%error, "stake file not reloaded"),
        }
    }
}
