//! SQL of the tracking-server operations: experiments (search, rename, delete/restore, tags),
//! runs and trace↔run links, assessment CRUD, artifacts, and the skeleton read of big traces.
//! Write functions run on the writer thread (inside its transaction) and must be idempotent
//! functions of what they are given: anything random or time-dependent is decided by the
//! caller before the job is queued.

use super::read_ops::{self, find_trace_pk};
use super::schema::sqlite_error;
use crate::ingest_rules::parse_experiment_id;
use crate::tracking::{self, artifact_prefix_range, NewRun};
use crate::span_text::SpanTextQuery;
use crate::{
    payload, ArtifactInfo, ExperimentPage, SearchExperimentsRequest, SpanSkeleton, StoreError, StoreResult,
    UpdateRun, ViewType,
};
use clew_model::{Assessment, AssessmentUpdate, Run, Span, TraceInfo};
use rusqlite::{params, Connection, OptionalExtension};

// ---------------------------------------------------------------- experiments

fn experiment_stage(conn: &Connection, experiment_id: &str) -> StoreResult<(i64, String, String)> {
    let not_found = || StoreError::NotFound(format!("experiment {experiment_id:?} does not exist"));
    let id = parse_experiment_id(experiment_id).ok_or_else(not_found)?;
    conn.prepare_cached("SELECT lifecycle_stage, artifact_location FROM experiments WHERE experiment_id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |r| Ok((id, r.get(0)?, r.get(1)?))).optional())
        .map_err(sqlite_error)?
        .ok_or_else(not_found)
}

pub(crate) fn count_traces(conn: &Connection, experiment_id: &str) -> StoreResult<u64> {
    let Some(id) = parse_experiment_id(experiment_id) else { return Ok(0) };
    // Kept by triggers on `traces` (migration 2).
    let n: Option<i64> = conn
        .prepare_cached("SELECT trace_count FROM experiments WHERE experiment_id = ?1")
        .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
        .map_err(sqlite_error)?;
    Ok(n.and_then(|n| u64::try_from(n).ok()).unwrap_or(0))
}

pub(crate) fn search_experiments(
    conn: &Connection,
    request: &SearchExperimentsRequest,
    max_results: usize,
    offset: usize,
) -> StoreResult<ExperimentPage> {
    let stage = match request.view_type {
        ViewType::ActiveOnly => "lifecycle_stage = 'active'",
        ViewType::DeletedOnly => "lifecycle_stage = 'deleted'",
        ViewType::All => "1 = 1",
    };
    let needle = request.name_contains.as_deref().unwrap_or_default().to_lowercase();
    // Experiments are few: filter names in Rust (Unicode-aware, no LIKE escaping), page after.
    let sql = format!("SELECT experiment_id, name FROM experiments WHERE {stage} ORDER BY experiment_id");
    let mut stmt = conn.prepare_cached(&sql).map_err(sqlite_error)?;
    let ids = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    let page: Vec<i64> = ids
        .into_iter()
        .filter(|(_, name)| needle.is_empty() || name.to_lowercase().contains(&needle))
        .map(|(id, _)| id)
        .skip(offset)
        .take(max_results)
        .collect();
    let mut experiments = Vec::with_capacity(page.len());
    for id in page {
        let id = id.to_string();
        let Some(experiment) = read_ops::get_experiment(conn, &id)? else { continue };
        let count = count_traces(conn, &id)?;
        experiments.push((experiment, count));
    }
    let next_page_token =
        (experiments.len() == max_results).then(|| crate::page_token::encode(offset + experiments.len()));
    Ok(ExperimentPage { experiments, next_page_token })
}

pub(crate) fn rename_experiment(conn: &Connection, experiment_id: &str, new_name: &str, now: i64) -> StoreResult<()> {
    if new_name.trim().is_empty() {
        return Err(StoreError::InvalidArgument("experiment name must not be empty".into()));
    }
    let (id, stage, _) = experiment_stage(conn, experiment_id)?;
    if stage != "active" {
        return Err(StoreError::InvalidArgument(format!(
            "cannot rename experiment {experiment_id:?}: it is {stage}, only active experiments can be renamed"
        )));
    }
    let taken: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM experiments WHERE name = ?1 AND experiment_id != ?2)",
            params![new_name, id],
            |r| r.get(0),
        )
        .map_err(sqlite_error)?;
    if taken {
        return Err(StoreError::AlreadyExists(format!("experiment {new_name:?} already exists")));
    }
    conn.execute(
        "UPDATE experiments SET name = ?2, last_update_time = ?3 WHERE experiment_id = ?1",
        params![id, new_name, now],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

/// `deleted = true`: delete; `false`: restore.
pub(crate) fn set_experiment_deleted(
    conn: &Connection,
    experiment_id: &str,
    deleted: bool,
    now: i64,
) -> StoreResult<()> {
    let (id, stage, _) = experiment_stage(conn, experiment_id)?;
    let (from, to) = if deleted { ("active", "deleted") } else { ("deleted", "active") };
    if deleted && id == 0 {
        return Err(StoreError::InvalidArgument("the Default experiment (id 0) cannot be deleted".into()));
    }
    if stage != from {
        // MLflow looks the experiment up among the active (delete) or deleted (restore) ones.
        return Err(StoreError::NotFound(format!(
            "no {from} experiment with id {experiment_id:?} exists (it is {stage})"
        )));
    }
    conn.execute(
        "UPDATE experiments SET lifecycle_stage = ?2, last_update_time = ?3 WHERE experiment_id = ?1",
        params![id, to, now],
    )
    .map_err(sqlite_error)?;
    conn.execute("UPDATE runs SET lifecycle_stage = ?2 WHERE experiment_id = ?1", params![id, to])
        .map_err(sqlite_error)?;
    Ok(())
}

pub(crate) fn set_experiment_tag(conn: &Connection, experiment_id: &str, key: &str, value: &str) -> StoreResult<()> {
    if key.is_empty() {
        return Err(StoreError::InvalidArgument("tag key must not be empty".into()));
    }
    let (id, _, _) = experiment_stage(conn, experiment_id)?;
    conn.execute(
        "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        params![id, key, value],
    )
    .map_err(sqlite_error)?;
    Ok(())
}

// ---------------------------------------------------------------- runs

pub(crate) fn create_run(conn: &Connection, new: &NewRun) -> StoreResult<Run> {
    let request = &new.request;
    let (experiment, stage, location) = experiment_stage(conn, &request.experiment_id)?;
    let row = new.row(&stage, &location)?;
    conn.execute(
        "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri)
         VALUES (?1, ?2, ?3, ?4, 'RUNNING', ?5, NULL, 'active', ?6)",
        params![new.run_id, experiment, row.run_name, row.user_id, row.start_time, row.artifact_uri],
    )
    .map_err(sqlite_error)?;
    for (key, value) in &request.tags {
        if key.is_empty() {
            return Err(StoreError::InvalidArgument("run tag keys must not be empty".into()));
        }
        set_run_tag(conn, &new.run_id, key, value)?;
    }
    set_run_tag(conn, &new.run_id, clew_model::run::RUN_NAME_TAG, &row.run_name)?;
    get_run(conn, &new.run_id)?
        .ok_or_else(|| StoreError::Internal(format!("run {} vanished while created", new.run_id)))
}

fn set_run_tag(conn: &Connection, run_id: &str, key: &str, value: &str) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO run_tags (run_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
    )
    .and_then(|mut stmt| stmt.execute(params![run_id, key, value]))
    .map_err(sqlite_error)?;
    Ok(())
}

pub(crate) fn get_run(conn: &Connection, run_id: &str) -> StoreResult<Option<Run>> {
    let run = conn
        .prepare_cached(
            "SELECT run_id, experiment_id, run_name, user_id, status, start_time, end_time, lifecycle_stage, artifact_uri
             FROM runs WHERE run_id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([run_id], |r| {
                Ok(Run {
                    run_id: r.get(0)?,
                    experiment_id: r.get::<_, i64>(1)?.to_string(),
                    run_name: r.get(2)?,
                    user_id: r.get(3)?,
                    status: r.get::<_, String>(4)?.parse().unwrap_or_default(),
                    start_time: r.get(5)?,
                    end_time: r.get(6)?,
                    lifecycle_stage: r.get(7)?,
                    artifact_uri: r.get(8)?,
                    tags: Default::default(),
                })
            })
            .optional()
        })
        .map_err(sqlite_error)?;
    let Some(mut run) = run else { return Ok(None) };
    let mut stmt =
        conn.prepare_cached("SELECT key, value FROM run_tags WHERE run_id = ?1 ORDER BY key").map_err(sqlite_error)?;
    let rows =
        stmt.query_map([run_id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))).map_err(sqlite_error)?;
    for row in rows {
        let (k, v) = row.map_err(sqlite_error)?;
        run.tags.insert(k, v);
    }
    Ok(Some(run))
}

pub(crate) fn update_run(conn: &Connection, run_id: &str, update: &UpdateRun) -> StoreResult<Run> {
    if get_run(conn, run_id)?.is_none() {
        return Err(StoreError::NotFound(format!("run {run_id:?} does not exist")));
    }
    if let Some(name) = update.run_name.as_deref().filter(|n| !n.is_empty()) {
        conn.execute("UPDATE runs SET run_name = ?2 WHERE run_id = ?1", params![run_id, name]).map_err(sqlite_error)?;
        set_run_tag(conn, run_id, clew_model::run::RUN_NAME_TAG, name)?;
    }
    if let Some(status) = update.status {
        conn.execute("UPDATE runs SET status = ?2 WHERE run_id = ?1", params![run_id, status.as_str()])
            .map_err(sqlite_error)?;
    }
    if let Some(end_time) = update.end_time {
        conn.execute("UPDATE runs SET end_time = ?2 WHERE run_id = ?1", params![run_id, end_time])
            .map_err(sqlite_error)?;
    }
    get_run(conn, run_id)?.ok_or_else(|| StoreError::Internal(format!("run {run_id:?} vanished while updated")))
}

pub(crate) fn link_traces_to_run(conn: &Connection, trace_ids: &[String], run_id: &str) -> StoreResult<()> {
    for trace_id in trace_ids {
        conn.prepare_cached("INSERT OR IGNORE INTO trace_run_links (trace_id, run_id) VALUES (?1, ?2)")
            .and_then(|mut stmt| stmt.execute(params![trace_id, run_id]))
            .map_err(sqlite_error)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- assessments

fn existing_trace_pk(conn: &Connection, trace_id: &str) -> StoreResult<i64> {
    find_trace_pk(conn, trace_id)?.ok_or_else(|| StoreError::NotFound(format!("trace {trace_id:?} does not exist")))
}

/// The stored row (position) and parsed assessment, if any.
fn find_assessment(conn: &Connection, trace_pk: i64, assessment_id: &str) -> StoreResult<Option<(i64, Assessment)>> {
    let row: Option<(i64, String)> = conn
        .prepare_cached(
            "SELECT position, payload FROM assessments WHERE trace_pk = ?1 AND assessment_id = ?2
             ORDER BY position LIMIT 1",
        )
        .and_then(|mut stmt| {
            stmt.query_row(params![trace_pk, assessment_id], |r| Ok((r.get(0)?, r.get(1)?))).optional()
        })
        .map_err(sqlite_error)?;
    let Some((position, text)) = row else { return Ok(None) };
    let value: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| StoreError::Internal(format!("stored assessment {assessment_id:?} is not JSON: {e}")))?;
    let assessment = Assessment::from_json(&value)
        .map_err(|e| StoreError::Internal(format!("stored assessment {assessment_id:?} is malformed: {e}")))?;
    Ok(Some((position, assessment)))
}

/// Writes the assessment at `position` (insert or replace), with its search columns.
fn store_assessment(conn: &Connection, trace_pk: i64, position: i64, assessment: &Assessment) -> StoreResult<()> {
    let id = (!assessment.assessment_id.is_empty()).then_some(assessment.assessment_id.as_str());
    super::write_ops::upsert_assessment_row(conn, trace_pk, position, &assessment.to_json(), id)
}

fn set_assessment_valid(conn: &Connection, trace_pk: i64, assessment_id: &str, valid: bool) -> StoreResult<bool> {
    let Some((position, mut assessment)) = find_assessment(conn, trace_pk, assessment_id)? else { return Ok(false) };
    assessment.valid = valid;
    store_assessment(conn, trace_pk, position, &assessment)?;
    Ok(true)
}

/// `assessment` is already prepared ([`tracking::prepare_new_assessment`]).
pub(crate) fn create_assessment(conn: &Connection, assessment: &Assessment) -> StoreResult<Assessment> {
    let trace_pk = existing_trace_pk(conn, &assessment.trace_id)?;
    if find_assessment(conn, trace_pk, &assessment.assessment_id)?.is_some() {
        return Err(StoreError::AlreadyExists(format!(
            "assessment {:?} already exists on trace {:?}",
            assessment.assessment_id, assessment.trace_id
        )));
    }
    if let Some(overridden) = &assessment.overrides {
        if !set_assessment_valid(conn, trace_pk, overridden, false)? {
            return Err(StoreError::NotFound(format!(
                "assessment {overridden:?} (named in overrides) does not exist on trace {:?}",
                assessment.trace_id
            )));
        }
    }
    let position: i64 = conn
        .prepare_cached("SELECT COALESCE(MAX(position), -1) + 1 FROM assessments WHERE trace_pk = ?1")
        .and_then(|mut stmt| stmt.query_row([trace_pk], |r| r.get(0)))
        .map_err(sqlite_error)?;
    store_assessment(conn, trace_pk, position, assessment)?;
    Ok(assessment.clone())
}

pub(crate) fn get_assessment(
    conn: &Connection,
    trace_id: &str,
    assessment_id: &str,
) -> StoreResult<Option<Assessment>> {
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(None) };
    Ok(find_assessment(conn, trace_pk, assessment_id)?.map(|(_, mut a)| {
        // Assessments logged inside a TraceInfo may leave their trace id out.
        if a.trace_id.is_empty() {
            a.trace_id = trace_id.to_string();
        }
        a
    }))
}

pub(crate) fn update_assessment(
    conn: &Connection,
    trace_id: &str,
    assessment_id: &str,
    update: &AssessmentUpdate,
    now: i64,
) -> StoreResult<Assessment> {
    let trace_pk = existing_trace_pk(conn, trace_id)?;
    let (position, mut assessment) = find_assessment(conn, trace_pk, assessment_id)?.ok_or_else(|| {
        StoreError::NotFound(format!("assessment {assessment_id:?} does not exist on trace {trace_id:?}"))
    })?;
    tracking::apply_assessment_update(&mut assessment, update, now)?;
    if assessment.trace_id.is_empty() {
        assessment.trace_id = trace_id.to_string();
    }
    store_assessment(conn, trace_pk, position, &assessment)?;
    Ok(assessment)
}

pub(crate) fn delete_assessment(conn: &Connection, trace_id: &str, assessment_id: &str) -> StoreResult<()> {
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(()) };
    let Some((position, assessment)) = find_assessment(conn, trace_pk, assessment_id)? else { return Ok(()) };
    conn.prepare_cached("DELETE FROM assessments WHERE trace_pk = ?1 AND position = ?2")
        .and_then(|mut stmt| stmt.execute(params![trace_pk, position]))
        .map_err(sqlite_error)?;
    if let Some(overridden) = &assessment.overrides {
        set_assessment_valid(conn, trace_pk, overridden, true)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- artifacts

pub(crate) fn put_artifact(conn: &Connection, path: &str, bytes: &[u8], now: i64) -> StoreResult<()> {
    conn.prepare_cached(
        "INSERT INTO artifacts (path, size, content, last_update_time) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (path) DO UPDATE SET size = excluded.size, content = excluded.content,
             last_update_time = excluded.last_update_time",
    )
    .and_then(|mut stmt| stmt.execute(params![path, bytes.len() as i64, bytes, now]))
    .map_err(|e| match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::TooBig) => StoreError::InvalidArgument(format!(
            "artifact {path:?} is too large for the SQLite store ({} bytes; SQLite's limit is about 1 GB)",
            bytes.len()
        )),
        _ => sqlite_error(e),
    })?;
    Ok(())
}

pub(crate) fn get_artifact(conn: &Connection, path: &str) -> StoreResult<Option<Vec<u8>>> {
    conn.prepare_cached("SELECT content FROM artifacts WHERE path = ?1")
        .and_then(|mut stmt| stmt.query_row([path], |r| r.get(0)).optional())
        .map_err(sqlite_error)
}

pub(crate) fn list_artifacts(conn: &Connection, prefix: &str) -> StoreResult<Vec<ArtifactInfo>> {
    let row = |r: &rusqlite::Row<'_>| {
        Ok(ArtifactInfo { path: r.get(0)?, size: u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0) })
    };
    let result = match artifact_prefix_range(prefix) {
        None => conn
            .prepare_cached("SELECT path, size FROM artifacts ORDER BY path")
            .and_then(|mut stmt| stmt.query_map([], row)?.collect()),
        Some((low, high)) => conn
            .prepare_cached("SELECT path, size FROM artifacts WHERE path >= ?1 AND path < ?2 ORDER BY path")
            .and_then(|mut stmt| stmt.query_map([low, high], row)?.collect()),
    };
    result.map_err(sqlite_error)
}

pub(crate) fn delete_artifact(conn: &Connection, path: &str) -> StoreResult<bool> {
    conn.prepare_cached("DELETE FROM artifacts WHERE path = ?1")
        .and_then(|mut stmt| stmt.execute([path]))
        .map(|n| n > 0)
        .map_err(sqlite_error)
}

// ---------------------------------------------------------------- big traces

/// The 16 lowercase hex digits of a stored span id (by hand: this runs for every span of a
/// giant trace's skeleton, and `format!` costs several times more).
fn hex_id(bits: i64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let bits = bits as u64;
    let mut out = String::with_capacity(16);
    for shift in (0..16).rev() {
        out.push(DIGITS[((bits >> (shift * 4)) & 0xf) as usize] as char);
    }
    out
}

pub(crate) fn get_trace_skeleton(
    conn: &Connection,
    trace_id: &str,
) -> StoreResult<Option<(TraceInfo, Vec<SpanSkeleton>)>> {
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(None) };
    let Some(info) = read_ops::load_infos(conn, &[trace_pk])?.pop() else { return Ok(None) };
    // Every column read here precedes `payload` in the row, so the payload is never read. The
    // rows are sorted here rather than by SQLite: its sorter copies every row into a temporary
    // b-tree, which took most of the query's time at 100,000 spans (~120 ms against ~25 ms).
    let mut stmt = conn
        .prepare_cached(
            "SELECT span_pk, span_id, parent_span_id, name, span_type, status, start_time_ns, end_time_ns FROM spans
             WHERE trace_pk = ?1",
        )
        .map_err(sqlite_error)?;
    let keyed: Vec<((bool, i64, i64), SpanSkeleton)> = stmt
        .query_map([trace_pk], |r| {
            let parent: Option<i64> = r.get(2)?;
            let start_time_ns: i64 = r.get(6)?;
            let key = (parent.is_some(), start_time_ns, r.get::<_, i64>(0)?);
            Ok((
                key,
                SpanSkeleton {
                    span_id: hex_id(r.get(1)?),
                    parent_id: parent.map(hex_id),
                    name: r.get(3)?,
                    span_type: r.get(4)?,
                    status_code: r.get(5)?,
                    start_time_ns,
                    end_time_ns: r.get(7)?,
                },
            ))
        })
        .map_err(sqlite_error)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(sqlite_error)?;
    // Root first, then by start time, then in arrival order (the keys are unique). Sorting
    // small (key, position) pairs moves far fewer bytes than sorting the spans themselves.
    let mut order: Vec<((bool, i64, i64), usize)> = keyed.iter().enumerate().map(|(i, (key, _))| (*key, i)).collect();
    order.sort_unstable();
    let mut slots: Vec<Option<SpanSkeleton>> = keyed.into_iter().map(|(_, span)| Some(span)).collect();
    let spans = order.into_iter().filter_map(|(_, i)| slots[i].take()).collect();
    Ok(Some((info, spans)))
}

/// `span_ids` are already parsed (the id bits as stored).
pub(crate) fn get_spans(conn: &Connection, trace_id: &str, span_ids: &[i64]) -> StoreResult<Vec<Span>> {
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(Vec::new()) };
    let mut stmt =
        conn.prepare_cached("SELECT payload FROM spans WHERE trace_pk = ?1 AND span_id = ?2").map_err(sqlite_error)?;
    let mut spans = Vec::with_capacity(span_ids.len());
    for span_id in span_ids {
        let blob: Option<Vec<u8>> =
            stmt.query_row(params![trace_pk, span_id], |r| r.get(0)).optional().map_err(sqlite_error)?;
        if let Some(blob) = blob {
            spans.push(payload::span_from_json(&payload::decode(&blob)?)?);
        }
    }
    Ok(spans)
}

/// Scans the trace's spans in skeleton order in this reader thread: the name column first (a
/// hit needs no payload), then the decompressed payload's text against the query's fragments,
/// and only the spans that pass are decoded. Measured faster than going through the trigram
/// index, whose hits for common words span every trace in the file.
pub(crate) fn search_span_ids_in_trace(
    conn: &Connection,
    trace_id: &str,
    query: &SpanTextQuery,
    limit: usize,
) -> StoreResult<Option<Vec<String>>> {
    let Some(trace_pk) = find_trace_pk(conn, trace_id)? else { return Ok(None) };
    let mut stmt = conn
        .prepare_cached(
            "SELECT span_id, name, payload FROM spans
             WHERE trace_pk = ?1 ORDER BY parent_span_id IS NOT NULL, start_time_ns, span_pk",
        )
        .map_err(sqlite_error)?;
    let mut rows = stmt.query([trace_pk]).map_err(sqlite_error)?;
    let mut found = Vec::new();
    while found.len() < limit {
        let Some(row) = rows.next().map_err(sqlite_error)? else { break };
        let span_id: i64 = row.get(0).map_err(sqlite_error)?;
        let name = row.get_ref(1).map_err(sqlite_error)?.as_str().map_err(|e| StoreError::Internal(e.to_string()))?;
        let hit = query.name_matches(name) || {
            let blob = row.get_ref(2).map_err(sqlite_error)?.as_blob().map_err(|e| StoreError::Internal(e.to_string()))?;
            query.matches_json(&payload::decode(blob)?)?
        };
        if hit {
            found.push(hex_id(span_id));
        }
    }
    Ok(Some(found))
}
