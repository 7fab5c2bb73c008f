//! Running the real `clew` binary against a store in a temporary directory.
#![allow(dead_code)]

use clew_store::{SqliteStore, TraceStore};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A temporary working directory with a store file path in it.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

/// What a run of the binary produced.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
    /// Panics with both streams unless the exit code is 0.
    pub fn ok(self) -> Run {
        assert_eq!(
            self.code, 0,
            "clew failed\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn store_path(&self) -> PathBuf {
        self.dir.path().join("traces.db")
    }

    /// `clew --store <sandbox store> args...`, run in the sandbox with no store variables set.
    pub fn clew(&self, args: &[&str]) -> Run {
        let store = self.store_path();
        let mut full = vec!["--store", store.to_str().unwrap()];
        full.extend_from_slice(args);
        self.clew_raw(&full, &[])
    }

    /// The binary with exactly these arguments and extra environment variables.
    pub fn clew_raw(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut command = Command::new(env!("CARGO_BIN_EXE_clew"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("CLEW_STORE")
            .env_remove("MLFLOW_TRACKING_URI")
            .env_remove("MLFLOW_EXPERIMENT_ID")
            .env_remove("MLFLOW_EXPERIMENT_NAME")
            .env_remove("CLEW_TRACING_ENABLED")
            .env("TZ", "UTC");
        for (k, v) in env {
            command.env(k, v);
        }
        let Output { status, stdout, stderr } = command.output().expect("run clew");
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// `clew demo --traces n --json` and the trace ids it reports.
    pub fn demo(&self, traces: usize) -> Vec<String> {
        let run = self.clew(&["--json", "demo", "--traces", &traces.to_string()]).ok();
        let ids: Vec<String> = run.json()["trace_ids"]
            .as_array()
            .expect("trace_ids")
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(ids.len(), traces);
        ids
    }

    /// Opens the sandbox store directly (not through the binary).
    pub fn open_store(&self) -> SqliteStore {
        open_store(&self.store_path())
    }
}

pub fn open_store(path: &Path) -> SqliteStore {
    SqliteStore::open(path).expect("open store")
}

/// Runs a store call to completion.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// Every trace in the store, with spans.
pub fn all_traces(store: &SqliteStore, ids: &[String]) -> Vec<clew_model::Trace> {
    block_on(store.batch_get_traces(ids)).expect("batch_get_traces")
}
