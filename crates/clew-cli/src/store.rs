//! Which trace store the command uses, and opening it with errors that say which file and why.

use anyhow::{bail, Context as _};
use clew_store::SqliteStore;
use std::path::PathBuf;

/// The SDK's default store: `clew.db`, shared by apps, `clew server` and this command.
pub const DEFAULT_STORE_URI: &str = clew::config::DEFAULT_STORE_URI;

/// A resolved store: the URI (as the SDK and the store read it), the file, and where the
/// choice came from (for messages).
#[derive(Clone, Debug)]
pub struct StoreLocation {
    pub uri: String,
    pub path: PathBuf,
    pub source: &'static str,
    /// The value given with `--store` / `CLEW_STORE`, as typed (for hints that repeat it).
    pub given: Option<String>,
}

/// Whether opening may create a new, empty store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenMode {
    /// Read commands: a missing file is an error (a typo should not create an empty store).
    MustExist,
    /// Commands that write (`demo`, `experiments create`).
    CreateIfMissing,
}

impl StoreLocation {
    /// `--store`/`CLEW_STORE` (clap fills `flag` from both), else `MLFLOW_TRACKING_URI` if it
    /// is a `sqlite:` URI, else the default.
    pub fn resolve(flag: Option<&str>) -> anyhow::Result<StoreLocation> {
        if let Some(value) = flag.map(str::trim).filter(|v| !v.is_empty()) {
            let mut location = Self::parse(value, "--store / CLEW_STORE")?;
            location.given = Some(value.to_string());
            return Ok(location);
        }
        if let Ok(uri) = std::env::var("MLFLOW_TRACKING_URI") {
            let uri = uri.trim();
            if uri.starts_with("sqlite:") {
                return Self::parse(uri, "MLFLOW_TRACKING_URI");
            }
        }
        Self::parse(DEFAULT_STORE_URI, "the default")
    }

    /// A `sqlite:` URI, or a plain file path (turned into the equivalent URI).
    pub fn parse(value: &str, source: &'static str) -> anyhow::Result<StoreLocation> {
        if value.starts_with("sqlite:") {
            let path = SqliteStore::path_from_uri(value)
                .with_context(|| format!("invalid store URI {value:?} (from {source})"))?;
            return Ok(StoreLocation {
                uri: value.to_string(),
                path,
                source,
                given: None,
            });
        }
        if let Some((scheme, _)) = value.split_once("://") {
            bail!(
                "the store URI {value:?} (from {source}) uses the scheme {scheme:?}; this command reads local \
                 SQLite stores only: use sqlite:///relative/path.db, sqlite:////absolute/path.db or a file path"
            );
        }
        // A plain path: opened as a path. The URI (what the SDK's destination reports) uses
        // four slashes before an absolute path, which reads the same whether two or three
        // slashes mark a relative path.
        let path = PathBuf::from(value);
        let absolute =
            std::path::absolute(&path).with_context(|| format!("invalid store path {value:?} (from {source})"))?;
        Ok(StoreLocation {
            uri: format!("sqlite:///{}", absolute.display()),
            path,
            source,
            given: None,
        })
    }

    fn is_temporary(&self) -> bool {
        self.path.as_os_str() == ":memory:"
    }

    /// Opens the store, with an error naming the file and the reason.
    pub fn open(&self, mode: OpenMode) -> anyhow::Result<SqliteStore> {
        if self.is_temporary() {
            return SqliteStore::open_in_memory().context("cannot create a temporary store");
        }
        let path = self.path.display();
        if mode == OpenMode::MustExist {
            match std::fs::metadata(&self.path) {
                Ok(meta) if meta.is_dir() => {
                    bail!(
                        "cannot open the trace store {path} (from {}): it is a directory, not a store file",
                        self.source
                    )
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                    "no trace store at {path} (from {}): the file does not exist. Run `clew demo` to create one \
                     with example traces, or point --store / CLEW_STORE at an existing store",
                    self.source
                ),
                Err(e) => bail!("cannot open the trace store {path} (from {}): {e}", self.source),
            }
        }
        SqliteStore::open(&self.path)
            .with_context(|| format!("cannot open the trace store {path} (from {})", self.source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_paths_become_sqlite_uris() {
        let rel = StoreLocation::parse("data/traces.db", "test").unwrap();
        assert_eq!(rel.path, PathBuf::from("data/traces.db"));
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(rel.uri, format!("sqlite:///{}", cwd.join("data/traces.db").display()));
        let abs = StoreLocation::parse("/tmp/x/traces.db", "test").unwrap();
        assert_eq!(abs.uri, "sqlite:////tmp/x/traces.db");
        assert_eq!(abs.path, PathBuf::from("/tmp/x/traces.db"));
    }

    #[test]
    fn other_schemes_are_refused_with_the_scheme_named() {
        let err = StoreLocation::parse("postgresql://db/clew", "test")
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"postgresql\""), "{err}");
    }

    #[test]
    fn a_missing_store_is_not_created_by_read_commands() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing.db");
        let location = StoreLocation::parse(path.to_str().unwrap(), "test").unwrap();
        let err = location.open(OpenMode::MustExist).unwrap_err().to_string();
        assert!(err.contains("does not exist") && err.contains("missing.db"), "{err}");
        assert!(!path.exists());
    }
}
