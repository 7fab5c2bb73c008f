//! Backend-neutral pieces of the tracking-server operations (assessments, runs, artifacts):
//! id generation, validation, and the assessment update rules. Every backend uses these, so
//! they behave the same everywhere.

use crate::{CreateRun, StoreError, StoreResult};
use clew_model::{Assessment, AssessmentUpdate, AssessmentValue};

/// A new assessment id: `"a-"` + 32 lowercase hex digits (MLflow: `"a-" + uuid4().hex`).
pub fn new_assessment_id() -> String {
    format!("a-{:032x}", uuid4_bits())
}

/// A new run id: 32 lowercase hex digits (MLflow: `uuid4().hex`).
pub fn new_run_id() -> String {
    format!("{:032x}", uuid4_bits())
}

/// Random bits shaped as a version-4 UUID, as MLflow's ids are.
fn uuid4_bits() -> u128 {
    let bits: u128 = rand::random();
    (bits & !(0xF000u128 << 64) & !(0xC000u128 << 48)) | (0x4000u128 << 64) | (0x8000u128 << 48)
}

const ADJECTIVES: &[&str] = &[
    "bold", "brave", "bright", "calm", "clever", "crisp", "eager", "fair", "gentle", "glad", "keen", "kind", "lively",
    "loud", "merry", "nimble", "proud", "quick", "quiet", "sharp", "shy", "smooth", "swift", "warm", "wise",
];
const NOUNS: &[&str] = &[
    "ant", "bass", "bear", "bee", "crane", "deer", "doe", "eel", "finch", "fox", "goat", "hare", "hawk", "lark",
    "lynx", "mole", "moth", "owl", "ram", "seal", "shrew", "slug", "snail", "toad", "wolf",
];

/// A run name like MLflow's generated ones: `"<adjective>-<animal>-<number>"`.
pub fn generate_run_name() -> String {
    let bits: u64 = rand::random();
    let adjective = ADJECTIVES[(bits % ADJECTIVES.len() as u64) as usize];
    let noun = NOUNS[((bits >> 16) % NOUNS.len() as u64) as usize];
    format!("{adjective}-{noun}-{}", (bits >> 32) % 1000)
}

/// A run about to be created: the request plus what is decided before the write (a random
/// id and name, the time), so a retried write job creates the same run.
pub(crate) struct NewRun {
    pub request: CreateRun,
    pub run_id: String,
    pub generated_name: String,
    pub now: i64,
}

/// The columns of a new run's row, as every backend inserts them.
pub(crate) struct NewRunRow {
    pub run_name: String,
    pub user_id: String,
    pub artifact_uri: String,
    pub start_time: i64,
}

impl NewRun {
    pub(crate) fn new(request: CreateRun) -> Self {
        NewRun { request, run_id: new_run_id(), generated_name: generate_run_name(), now: now_ms() }
    }

    /// The row for an experiment in `stage` whose artifacts live at `location`: runs are
    /// created only in active experiments; the name is the request's, else its
    /// `mlflow.runName` tag, else the generated one; the user is the request's, else its
    /// `mlflow.user` tag (the last tag of a key wins).
    pub(crate) fn row(&self, stage: &str, location: &str) -> StoreResult<NewRunRow> {
        let request = &self.request;
        if stage != "active" {
            return Err(StoreError::InvalidArgument(format!(
                "cannot create a run in experiment {:?}: it is {stage}",
                request.experiment_id
            )));
        }
        let tag = |key: &str| request.tags.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let run_name = request
            .run_name
            .clone()
            .filter(|n| !n.is_empty())
            .or_else(|| tag(clew_model::run::RUN_NAME_TAG).filter(|n| !n.is_empty()))
            .unwrap_or_else(|| self.generated_name.clone());
        let user_id = request.user_id.clone().or_else(|| tag("mlflow.user")).unwrap_or_default();
        let artifact_uri = format!("{}/{}/artifacts", location.trim_end_matches('/'), self.run_id);
        Ok(NewRunRow { run_name, user_id, artifact_uri, start_time: request.start_time.unwrap_or(self.now) })
    }
}

/// Checks and normalises an artifact path (the part after `mlflow-artifacts:/`): a leading
/// `/` is dropped; the rest must be non-empty `/`-separated segments, none `.` or `..`, and no
/// NUL or backslash.
///
/// ```
/// use clew_store::tracking::artifact_path;
/// assert_eq!(artifact_path("/1/traces/tr-1/artifacts/traces.json").unwrap(), "1/traces/tr-1/artifacts/traces.json");
/// assert!(artifact_path("1/../2").is_err());
/// assert!(artifact_path("1//x").is_err());
/// assert!(artifact_path("").is_err());
/// ```
pub fn artifact_path(path: &str) -> StoreResult<String> {
    let trimmed = path.strip_prefix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Err(StoreError::InvalidArgument("artifact path must not be empty".into()));
    }
    check_segments(trimmed, path)?;
    Ok(trimmed.to_string())
}

/// Normalises a listing prefix: like [`artifact_path`] but `""` (or `/`) means everything and
/// a trailing `/` is allowed.
pub fn artifact_prefix(prefix: &str) -> StoreResult<String> {
    let trimmed = prefix.trim_matches('/');
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    check_segments(trimmed, prefix)?;
    Ok(trimmed.to_string())
}

fn check_segments(trimmed: &str, original: &str) -> StoreResult<()> {
    if trimmed.contains(['\0', '\\']) {
        return Err(StoreError::InvalidArgument(format!(
            "artifact path {original:?} must not contain NUL or backslash characters"
        )));
    }
    for segment in trimmed.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return Err(StoreError::InvalidArgument(format!(
                "invalid artifact path {original:?}: empty, '.' and '..' segments are not allowed"
            )));
        }
    }
    Ok(())
}

/// The key range `[low, high)` of every path under directory `prefix` (`""` = everything):
/// `prefix + "/"` up to `prefix + "0"` (`'0'` follows `'/'` in byte order).
pub fn artifact_prefix_range(prefix: &str) -> Option<(String, String)> {
    (!prefix.is_empty()).then(|| (format!("{prefix}/"), format!("{prefix}0")))
}

/// The longest assessment id a client may choose (MLflow's column is `String(50)`).
pub const MAX_ASSESSMENT_ID_LEN: usize = 50;

/// Checks a new assessment and fills in what the store assigns: the id (`assessment_id`, used
/// when the client sent none), missing times (`now_ms`), `valid = true` and the trace id.
pub fn prepare_new_assessment(
    trace_id: &str,
    mut assessment: Assessment,
    assessment_id: String,
    now_ms: i64,
) -> StoreResult<Assessment> {
    if !assessment.trace_id.is_empty() && assessment.trace_id != trace_id {
        return Err(StoreError::InvalidArgument(format!(
            "assessment.trace_id {:?} does not match the trace {trace_id:?} in the request",
            assessment.trace_id
        )));
    }
    assessment.validate_new().map_err(|e| StoreError::InvalidArgument(e.to_string()))?;
    if let Some(span_id) = &assessment.span_id {
        if clew_model::SpanId::from_hex(span_id).is_err() {
            return Err(StoreError::InvalidArgument(format!(
                "assessment.span_id {span_id:?} is not a span id (16 hex digits)"
            )));
        }
    }
    // As MLflow's SQL store: an id or times the client already set are kept (the Python client
    // always sends both times); what is missing is assigned here.
    if assessment.assessment_id.trim().is_empty() {
        assessment.assessment_id = assessment_id;
    } else if assessment.assessment_id.len() > MAX_ASSESSMENT_ID_LEN {
        return Err(StoreError::InvalidArgument(format!(
            "assessment_id {:?} is longer than {MAX_ASSESSMENT_ID_LEN} characters",
            assessment.assessment_id
        )));
    }
    assessment.trace_id = trace_id.to_string();
    assessment.create_time_ms = Some(assessment.create_time_ms.unwrap_or(now_ms));
    assessment.last_update_time_ms = Some(assessment.last_update_time_ms.unwrap_or(now_ms));
    assessment.valid = true;
    Ok(assessment)
}

/// Applies an update to a stored assessment (MLflow's `update_assessment` rules): a value must
/// keep its kind, metadata merges, `last_update_time` becomes `now_ms`.
pub fn apply_assessment_update(stored: &mut Assessment, update: &AssessmentUpdate, now_ms: i64) -> StoreResult<()> {
    if let Some(name) = &update.assessment_name {
        if name.trim().is_empty() {
            return Err(StoreError::InvalidArgument("assessment_name must not be empty".into()));
        }
    }
    if let Some(value) = &update.value {
        let (old, new) = (stored.value.kind(), value.kind());
        if new.is_none() {
            return Err(StoreError::InvalidArgument(
                "an updated assessment value must be feedback or expectation".into(),
            ));
        }
        if old.is_some() && old != new {
            return Err(StoreError::InvalidArgument(format!(
                "cannot update the {} of assessment {:?}: it is {} assessment",
                new.unwrap_or("value"),
                stored.assessment_id,
                match old {
                    Some("feedback") => "a feedback",
                    Some("expectation") => "an expectation",
                    _ => "an issue",
                }
            )));
        }
        if matches!(value, AssessmentValue::Issue { .. }) {
            return Err(StoreError::InvalidArgument("issue references cannot be updated".into()));
        }
    }
    if let Some(name) = &update.assessment_name {
        stored.assessment_name = name.clone();
    }
    if let Some(value) = &update.value {
        stored.value = value.clone();
    }
    if let Some(rationale) = &update.rationale {
        stored.rationale = rationale.clone();
    }
    if let Some(metadata) = &update.metadata {
        for (k, v) in metadata {
            stored.metadata.insert(k.clone(), v.clone());
        }
    }
    stored.last_update_time_ms = Some(now_ms);
    Ok(())
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_have_mlflow_shape() {
        let a = new_assessment_id();
        assert!(a.starts_with("a-") && a.len() == 34 && a[2..].bytes().all(|b| b.is_ascii_hexdigit()), "{a}");
        let r = new_run_id();
        assert_eq!(r.len(), 32);
        assert_eq!(&r[12..13], "4", "uuid version nibble: {r}");
        assert_ne!(new_run_id(), new_run_id());
        assert_eq!(generate_run_name().split('-').count(), 3);
    }

    #[test]
    fn prefixes_and_ranges() {
        assert_eq!(artifact_prefix("/1/traces/").unwrap(), "1/traces");
        assert_eq!(artifact_prefix("").unwrap(), "");
        assert!(artifact_prefix("a/../b").is_err());
        assert_eq!(artifact_prefix_range("1"), Some(("1/".into(), "10".into())));
        assert_eq!(artifact_prefix_range(""), None);
        assert!(artifact_path("a\\b").is_err());
    }

    #[test]
    fn updates_keep_the_kind_and_merge_metadata() {
        let mut stored = Assessment::from_json(&json!({
            "assessment_id": "a-1", "assessment_name": "n", "feedback": {"value": 1}, "metadata": {"a": "1", "b": "2"}
        }))
        .unwrap();
        let mut metadata = indexmap::IndexMap::new();
        metadata.insert("b".to_string(), "3".to_string());
        let update = AssessmentUpdate {
            value: Some(AssessmentValue::Feedback { value: Some(json!(2)), error: None }),
            metadata: Some(metadata),
            ..Default::default()
        };
        apply_assessment_update(&mut stored, &update, 77).unwrap();
        assert_eq!(stored.metadata.get("a").map(String::as_str), Some("1"));
        assert_eq!(stored.metadata.get("b").map(String::as_str), Some("3"));
        assert_eq!(stored.last_update_time_ms, Some(77));
        let wrong = AssessmentUpdate { value: Some(AssessmentValue::Expectation(json!(1))), ..Default::default() };
        let err = apply_assessment_update(&mut stored, &wrong, 78).unwrap_err().to_string();
        assert!(err.contains("feedback"), "{err}");
        assert_eq!(stored.last_update_time_ms, Some(77), "a rejected update changes nothing");
    }

    #[test]
    fn new_assessments_get_ids_times_and_the_trace() {
        let a = Assessment::from_json(&json!({"assessment_name": "n", "feedback": {"value": true}, "valid": false}))
            .unwrap();
        let a = prepare_new_assessment("tr-1", a, "a-x".into(), 5).unwrap();
        assert_eq!(
            (a.trace_id.as_str(), a.assessment_id.as_str(), a.create_time_ms, a.valid),
            ("tr-1", "a-x", Some(5), true)
        );
        let given = Assessment::from_json(&json!({
            "assessment_id": "a-client", "assessment_name": "n", "feedback": {"value": 1},
            "create_time": "1970-01-01T00:00:01Z", "last_update_time": "1970-01-01T00:00:02Z"
        }))
        .unwrap();
        let given = prepare_new_assessment("tr-1", given, "a-server".into(), 5).unwrap();
        assert_eq!(
            (given.assessment_id.as_str(), given.create_time_ms, given.last_update_time_ms),
            ("a-client", Some(1000), Some(2000))
        );
        let long = Assessment { assessment_id: "a".repeat(51), ..given };
        assert!(prepare_new_assessment("tr-1", long, "a-server".into(), 5).is_err());
        let other =
            Assessment::from_json(&json!({"assessment_name": "n", "trace_id": "tr-2", "feedback": {}})).unwrap();
        assert!(prepare_new_assessment("tr-1", other, "a-y".into(), 5).is_err());
        let bad_span =
            Assessment::from_json(&json!({"assessment_name": "n", "span_id": "xyz", "feedback": {}})).unwrap();
        assert!(prepare_new_assessment("tr-1", bad_span, "a-z".into(), 5).is_err());
    }
}
