//! The MLflow REST API (spec §4), served under `/api/2.0`, `/api/3.0` and the UI's mirrors
//! `/ajax-api/2.0` and `/ajax-api/3.0`, plus `/version`, `/health` and `/metrics`.
//!
//! | module | endpoints |
//! | --- | --- |
//! | [`experiments`] | `mlflow/experiments/*` |
//! | [`traces`] | `mlflow/traces*`: StartTraceV3, GetTraceInfoV3, GetTrace, batchGet, search, tags, delete, link-to-run, link-prompts |
//! | [`assessments`] | `mlflow/traces/{trace_id}/assessments*` |
//! | [`runs`] | `mlflow/runs/{create,get,update}` |
//! | [`artifacts`] | `mlflow-artifacts/artifacts*`, `mlflow/get-trace-artifact` |
//! | [`meta`] | `/version`, `/health`, `/metrics` |
//!
//! Routing rules from the wire: `traces/get`, `traces/batchGet` and `traces/search` win over
//! `traces/{trace_id}` (static segments first); an unknown path is a plain, non-JSON 404 (the
//! client reads that as "old server" and falls back), while a missing resource is a JSON
//! `RESOURCE_DOES_NOT_EXIST`.
//!
//! Decisions where MLflow leaves room (spec §9.2, §9.3):
//! - **`mlflow.trace.spansLocation`**: StartTraceV3 answers `TRACKING_STORE` exactly when spans
//!   of the trace are committed, as the reference server does — never optimistically, because a
//!   client whose OTLP export failed (or was disabled by `/version`) would then upload nothing and
//!   lose the spans. When the tag is absent the client uploads `traces.json`; the upload is kept
//!   as sent *and* ingested into the store, so every read path (GetTrace, batchGet, span search,
//!   the UI) works whichever way the spans came, and the tag is set from then on.
//! - **`/version`** answers `3.17.2`, the MLflow release whose protocol is implemented and tested
//!   (see [`meta`]).
//! - **Partial traces**: GetTrace without `allow_partial` waits up to `partial_trace_wait`
//!   (3 s, as the reference's 1 s + 2 s sleeps) for missing spans; batchGet leaves incomplete
//!   traces out. A trace with no spans anywhere is a 404 or an empty span list, never the
//!   reference's 500 (which the client would retry).
//! - **StartTraceV3 after OTLP** answers the user's tags too (the reference's merge path drops
//!   them from the answer, though it stores them).

pub mod artifacts;
pub mod assessments;
pub mod experiment_filter;
pub mod experiments;
pub mod meta;
pub mod params;
pub mod reply;
pub mod runs;
pub mod traces;

use crate::state::AppState;
use axum::routing::{get, patch, post, MethodRouter};
use axum::Router;

/// API major versions: MLflow's proto `since.major` picks the prefix, and clients mix both.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ApiVersion {
    V2,
    V3,
}

const PREFIXES: [(&str, ApiVersion); 4] = [
    ("/api/2.0", ApiVersion::V2),
    ("/api/3.0", ApiVersion::V3),
    ("/ajax-api/2.0", ApiVersion::V2),
    ("/ajax-api/3.0", ApiVersion::V3),
];

/// Endpoints served under every prefix (MLflow serves each RPC under both majors).
fn shared_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/mlflow/experiments/get-by-name", get(experiments::get_by_name)),
        ("/mlflow/experiments/create", post(experiments::create)),
        ("/mlflow/experiments/get", get(experiments::get)),
        ("/mlflow/experiments/search", post(experiments::search).get(experiments::search)),
        ("/mlflow/experiments/update", post(experiments::update)),
        ("/mlflow/experiments/delete", post(experiments::delete)),
        ("/mlflow/experiments/restore", post(experiments::restore)),
        ("/mlflow/experiments/set-experiment-tag", post(experiments::set_tag)),
        ("/mlflow/traces/{trace_id}/tags", patch(traces::set_trace_tag).delete(traces::delete_trace_tag)),
        ("/mlflow/traces/delete-traces", post(traces::delete_traces)),
        ("/mlflow/traces/link-to-run", post(traces::link_to_run)),
        ("/mlflow/traces/link-prompts", post(traces::link_prompts)),
        ("/mlflow/traces/get", get(traces::get_trace_v3)),
        ("/mlflow/traces/batchGet", get(traces::batch_get_traces)),
        ("/mlflow/traces/batchGetInfos", post(traces::batch_get_trace_infos)),
        ("/mlflow/traces/search", post(traces::search_traces_v3)),
        ("/mlflow/traces/{trace_id}/assessments", post(assessments::create)),
        (
            "/mlflow/traces/{trace_id}/assessments/{assessment_id}",
            get(assessments::get).patch(assessments::update).delete(assessments::delete),
        ),
        ("/mlflow/runs/create", post(runs::create)),
        ("/mlflow/runs/get", get(runs::get)),
        ("/mlflow/runs/update", post(runs::update)),
        ("/mlflow/get-trace-artifact", get(artifacts::get_trace_artifact)),
    ]
}

/// Endpoints whose meaning depends on the major version.
fn versioned_routes(version: ApiVersion) -> Vec<(&'static str, MethodRouter<AppState>)> {
    match version {
        // V2: SearchTraces is `GET /traces`, GetTraceInfo is `/traces/{id}/info`. StartTrace V2
        // (`POST /api/2.0/mlflow/traces`) is not served: clients older than 3.2 only.
        ApiVersion::V2 => vec![
            ("/mlflow/traces", get(traces::search_traces_v2)),
            ("/mlflow/traces/{trace_id}/info", get(traces::get_trace_info_v2)),
        ],
        ApiVersion::V3 => vec![
            ("/mlflow/traces", post(traces::start_trace_v3)),
            ("/mlflow/traces/{trace_id}", get(traces::get_trace_info_v3)),
        ],
    }
}

/// The artifact proxy, under `/api/2.0` and `/ajax-api/2.0`.
fn artifact_routes(router: Router<AppState>, prefix: &str) -> Router<AppState> {
    router
        .route(&format!("{prefix}/mlflow-artifacts/artifacts"), get(artifacts::list))
        .route(
            &format!("{prefix}/mlflow-artifacts/artifacts/{{*path}}"),
            get(artifacts::download).put(artifacts::upload).delete(artifacts::delete),
        )
}

pub fn routes() -> Router<AppState> {
    let mut router = Router::new()
        .route("/version", get(meta::version))
        .route("/health", get(meta::health))
        .route("/metrics", get(meta::metrics));
    for (prefix, version) in PREFIXES {
        for (path, method_router) in shared_routes().into_iter().chain(versioned_routes(version)) {
            router = router.route(&format!("{prefix}{path}"), method_router);
        }
        if version == ApiVersion::V2 {
            router = artifact_routes(router, prefix);
        }
    }
    router
}
