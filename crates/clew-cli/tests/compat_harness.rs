//! Shared harness of the compatibility tests (`compat_*.rs`): runs the real `clew server` binary
//! on a free local port with a store in a temporary directory, waits for `GET /health`, and runs
//! a Python script from `tests/compat/` with the venv that holds the real `mlflow` client and the
//! OpenTelemetry SDK (`$CLEW_PYTHON_VENV`, made by `scripts/setup-python.sh`; `scripts/test.sh`
//! exports it). The script asserts and exits non-zero on a mismatch; the test asserts its exit
//! code and shows its output and the server's log.
//!
//! Included by the test files with `#[path = "compat_harness.rs"] mod harness;` (it has no tests
//! of its own).
#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The workspace root (two levels above this crate).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// `$CLEW_PYTHON_VENV/bin/python`, else `<workspace>/.venv/bin/python`; panics with what to do
/// when neither exists, so a missing environment is a clear failure, never a silent skip.
pub fn venv_python() -> PathBuf {
    let venv = match std::env::var_os("CLEW_PYTHON_VENV") {
        Some(v) if !v.is_empty() => PathBuf::from(v),
        _ => workspace_root().join(".venv"),
    };
    let python = venv.join("bin/python");
    assert!(
        python.is_file(),
        "no Python environment for the compatibility tests at {}: run the suite with \
         `scripts/test.sh` (it creates the venv), or run `scripts/setup-python.sh` and set \
         CLEW_PYTHON_VENV to the directory it prints",
        venv.display()
    );
    python
}

/// A Python script of `tests/compat/`.
pub fn compat_script(name: &str) -> PathBuf {
    let path = workspace_root().join("tests/compat").join(name);
    assert!(path.is_file(), "missing compat script {}", path.display());
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

/// One HTTP/1.1 request over a fresh connection; returns (status, body). No client library:
/// the harness only needs `/health` and small JSON calls.
pub fn http_request(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes())?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not an HTTP response: {text:?}")))?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    Ok((status, body))
}

/// A running `clew server`, killed on drop.
pub struct ClewServer {
    pub dir: tempfile::TempDir,
    pub addr: SocketAddr,
    child: Child,
    log: PathBuf,
}

impl ClewServer {
    /// `clew server --host 127.0.0.1 --port <free> --store sqlite:///<tmp>/clew.db`, waited on
    /// until `GET /health` answers 200 (at most 60 s).
    pub fn start() -> ClewServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        let store = format!("sqlite:///{}", dir.path().join("clew.db").display());
        let mut failures = Vec::new();
        // A port found free can be taken before the server binds it: a few attempts.
        for _attempt in 0..3 {
            let port = free_port();
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let log_file = File::create(&log).expect("server log");
            let mut child = Command::new(env!("CARGO_BIN_EXE_clew"))
                .args(["server", "--host", "127.0.0.1", "--port", &port.to_string(), "--store", &store])
                .current_dir(dir.path())
                .env_remove("CLEW_STORE")
                .env_remove("MLFLOW_TRACKING_URI")
                .env("CLEW_QUIET", "1")
                .stdin(Stdio::null())
                .stdout(log_file.try_clone().unwrap())
                .stderr(log_file)
                .spawn()
                .expect("spawn clew server");
            match wait_healthy(&mut child, addr, Duration::from_secs(60)) {
                Ok(()) => return ClewServer { dir, addr, child, log },
                Err(why) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let port_taken = text.to_lowercase().contains("address already in use");
                    failures.push(format!("{why}\nserver log:\n{text}"));
                    if !port_taken {
                        break;
                    }
                }
            }
        }
        panic!("clew server did not become healthy:\n{}", failures.join("\n---\n"));
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Everything the server printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Bytes of the store file, its WAL and its text index file.
    pub fn store_bytes(&self) -> u64 {
        ["clew.db", "clew.db-wal", "clew.db-fts", "clew.db-fts-wal"]
            .iter()
            .filter_map(|f| std::fs::metadata(self.dir.path().join(f)).ok())
            .map(|m| m.len())
            .sum()
    }
}

fn wait_healthy(child: &mut Child, addr: SocketAddr, limit: Duration) -> Result<(), String> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            return Err(format!("clew server exited early with {status}"));
        }
        match http_request(addr, "GET", "/health", None) {
            Ok((200, _)) => return Ok(()),
            Ok((status, body)) if Instant::now() > deadline => {
                return Err(format!("GET /health answered {status}: {body}"))
            }
            Err(e) if Instant::now() > deadline => return Err(format!("GET /health failed: {e}")),
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

impl Drop for ClewServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a Python script run produced.
pub struct ScriptRun {
    pub code: Option<i32>,
    pub timed_out: bool,
    pub output: String,
}

/// Runs `tests/compat/<script>` with the venv's Python against `server`, with
/// `MLFLOW_TRACKING_URI` pointing at it, stdout and stderr merged, killed after `limit`.
pub fn run_script(server: &ClewServer, script: &str, args: &[&str], env: &[(&str, &str)], limit: Duration) -> ScriptRun {
    let python = venv_python();
    let script_path = compat_script(script);
    let out_path = server.dir.path().join(format!("{script}.out"));
    let out = File::create(&out_path).expect("script output file");
    let mut command = Command::new(&python);
    command
        .arg(&script_path)
        .args(args)
        // A scratch working directory: mlflow must not pick up files (or a `mlruns/`) from the repo.
        .current_dir(server.dir.path())
        .env("MLFLOW_TRACKING_URI", server.url())
        .env("CLEW_COMPAT_SERVER_URL", server.url())
        .env("PYTHONUNBUFFERED", "1")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("MLFLOW_EXPERIMENT_ID")
        .env_remove("MLFLOW_EXPERIMENT_NAME")
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out);
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command.spawn().unwrap_or_else(|e| panic!("run {}: {e}", python.display()));
    let deadline = Instant::now() + limit;
    let (code, timed_out) = loop {
        if let Some(status) = child.try_wait().expect("wait for script") {
            break (status.code(), false);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    ScriptRun {
        code,
        timed_out,
        output: std::fs::read_to_string(&out_path).unwrap_or_default(),
    }
}

/// Asserts the script exited 0; on failure shows its output and the tail of the server log.
pub fn assert_script_passed(server: &ClewServer, script: &str, run: &ScriptRun) {
    // Always show the script's report (visible with --nocapture, and in failures).
    println!("--- {script} output ---\n{}", run.output);
    if run.code == Some(0) {
        return;
    }
    let log = server.log_text();
    let tail: String = {
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(80)..].join("\n")
    };
    panic!(
        "{script} {}\n--- script output ---\n{}\n--- clew server log (last 80 lines) ---\n{tail}",
        if run.timed_out {
            "timed out".to_string()
        } else {
            format!("exited with {:?}", run.code)
        },
        run.output
    );
}
