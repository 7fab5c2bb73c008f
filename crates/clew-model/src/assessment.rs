//! Assessments (spec §2.8): feedback and expectations attached to a trace (or one of its spans).
//!
//! The wire and storage form is the proto-JSON dict MLflow writes with `MessageToDict(...,
//! preserving_proto_field_name=True)`:
//!
//! ```json
//! {"assessment_id": "a-0123…", "assessment_name": "relevance", "trace_id": "tr-…",
//!  "source": {"source_type": "HUMAN", "source_id": "alice"},
//!  "create_time": "2026-11-21T05:26:11.687Z", "last_update_time": "2026-11-21T05:26:11.687Z",
//!  "feedback": {"value": 0.9}, "rationale": "…", "metadata": {"k": "v"}, "valid": true}
//! ```
//!
//! [`Assessment::from_json`] accepts that form (and keeps fields it does not model, such as the
//! deprecated top-level `error`, in [`Assessment::extra`]); [`Assessment::to_json`] writes it
//! back field for field.
//!
//! ```
//! use clew_model::assessment::{Assessment, AssessmentValue};
//! let dict = serde_json::json!({
//!     "assessment_name": "rating", "trace_id": "tr-1",
//!     "source": {"source_type": "HUMAN", "source_id": "bob"},
//!     "feedback": {"value": "good"}
//! });
//! let a = Assessment::from_json(&dict).unwrap();
//! assert_eq!(a.value, AssessmentValue::Feedback { value: Some("good".into()), error: None });
//! assert_eq!(a.to_json()["feedback"]["value"], "good");
//! ```

use crate::json::proto_time::{ms_from_timestamp, timestamp_from_ms};
use crate::ModelError;
use indexmap::IndexMap;
use serde_json::{Map, Value};

/// Who produced an assessment.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct AssessmentSource {
    /// `HUMAN`, `LLM_JUDGE`, `CODE` or `SOURCE_TYPE_UNSPECIFIED`.
    pub source_type: String,
    pub source_id: Option<String>,
}

/// The source types MLflow's proto defines.
pub const SOURCE_TYPES: &[&str] = &["SOURCE_TYPE_UNSPECIFIED", "HUMAN", "LLM_JUDGE", "CODE"];

/// The value oneof of an assessment.
#[derive(Clone, Debug, PartialEq, Default)]
pub enum AssessmentValue {
    /// `feedback {value, error}`: `value` is any JSON value (`google.protobuf.Value`); `error`
    /// is MLflow's `AssessmentError` dict (`error_code`, `error_message`, `stack_trace`).
    Feedback { value: Option<Value>, error: Option<Value> },
    /// `expectation {value}`: a JSON value.
    Expectation(Value),
    /// `expectation {serialized_value {serialization_format, value}}`: a value MLflow could not
    /// express as a `google.protobuf.Value`, serialised (`JSON_FORMAT`).
    SerializedExpectation { serialization_format: String, value: String },
    /// `issue {issue_name}` (issue references).
    Issue { issue_name: String },
    /// No value set.
    #[default]
    None,
}

impl AssessmentValue {
    /// `feedback`, `expectation`, `issue`, or `None` when no value is set.
    pub fn kind(&self) -> Option<&'static str> {
        match self {
            AssessmentValue::Feedback { .. } => Some("feedback"),
            AssessmentValue::Expectation(_) | AssessmentValue::SerializedExpectation { .. } => Some("expectation"),
            AssessmentValue::Issue { .. } => Some("issue"),
            AssessmentValue::None => None,
        }
    }

    /// The value search compares against: the feedback value, the expectation value (for a
    /// serialised expectation, its serialised text), or the issue name.
    pub fn search_value(&self) -> Option<Value> {
        match self {
            AssessmentValue::Feedback { value, .. } => value.clone(),
            AssessmentValue::Expectation(v) => Some(v.clone()),
            AssessmentValue::SerializedExpectation { value, .. } => Some(Value::String(value.clone())),
            AssessmentValue::Issue { issue_name } => Some(Value::String(issue_name.clone())),
            AssessmentValue::None => None,
        }
    }
}

/// One assessment (proto `mlflow.assessments.Assessment`).
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// `"a-"` + 32 hex digits, assigned by the store; empty until then.
    pub assessment_id: String,
    pub assessment_name: String,
    pub trace_id: String,
    /// Hex span id when the assessment is about one span.
    pub span_id: Option<String>,
    pub source: Option<AssessmentSource>,
    /// Milliseconds since the epoch (RFC 3339 on the wire).
    pub create_time_ms: Option<i64>,
    pub last_update_time_ms: Option<i64>,
    pub value: AssessmentValue,
    pub rationale: Option<String>,
    pub metadata: IndexMap<String, String>,
    /// The id of the assessment this one supersedes (that one becomes `valid = false`).
    pub overrides: Option<String>,
    /// `false` once overridden by a newer assessment. Defaults to `true`.
    pub valid: bool,
    /// Fields of the dict this type does not model (e.g. the deprecated top-level `error`),
    /// written back unchanged.
    pub extra: Map<String, Value>,
}

impl Default for Assessment {
    fn default() -> Self {
        Assessment {
            assessment_id: String::new(),
            assessment_name: String::new(),
            trace_id: String::new(),
            span_id: None,
            source: None,
            create_time_ms: None,
            last_update_time_ms: None,
            value: AssessmentValue::None,
            rationale: None,
            metadata: IndexMap::new(),
            overrides: None,
            valid: true,
            extra: Map::new(),
        }
    }
}

/// Fields of the dict [`Assessment`] models; everything else goes to `extra`.
const MODELLED_FIELDS: &[&str] = &[
    "assessment_id",
    "assessment_name",
    "trace_id",
    "span_id",
    "source",
    "create_time",
    "last_update_time",
    "feedback",
    "expectation",
    "issue",
    "rationale",
    "metadata",
    "overrides",
    "valid",
];

fn invalid(field: &'static str, reason: impl Into<String>) -> ModelError {
    ModelError::InvalidValue { field, reason: reason.into() }
}

fn opt_str(obj: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<String>, ModelError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(invalid(field, format!("expected a string, got {other}"))),
    }
}

fn opt_obj<'a>(
    obj: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<Option<&'a Map<String, Value>>, ModelError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(o)) => Ok(Some(o)),
        Some(other) => Err(invalid(field, format!("expected an object, got {other}"))),
    }
}

fn opt_time(obj: &Map<String, Value>, key: &str, field: &'static str) -> Result<Option<i64>, ModelError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => ms_from_timestamp(s, field).map(Some),
        // Tolerate milliseconds as a number (some clients send `create_time_ms`-like values).
        Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(|| invalid(field, format!("{n} is not a timestamp"))),
        Some(other) => Err(invalid(field, format!("expected an RFC 3339 timestamp, got {other}"))),
    }
}

impl Assessment {
    /// Reads the proto-JSON dict form. Unknown fields are kept in [`Assessment::extra`].
    pub fn from_json(value: &Value) -> Result<Assessment, ModelError> {
        let obj = value.as_object().ok_or_else(|| ModelError::InvalidJson {
            what: "assessment",
            reason: format!("expected an object, got {value}"),
        })?;
        let source = match opt_obj(obj, "source", "assessment.source")? {
            None => None,
            Some(s) => Some(AssessmentSource {
                source_type: opt_str(s, "source_type", "assessment.source.source_type")?
                    .unwrap_or_else(|| "SOURCE_TYPE_UNSPECIFIED".to_string()),
                source_id: opt_str(s, "source_id", "assessment.source.source_id")?,
            }),
        };
        let feedback = opt_obj(obj, "feedback", "assessment.feedback")?;
        let expectation = opt_obj(obj, "expectation", "assessment.expectation")?;
        let issue = opt_obj(obj, "issue", "assessment.issue")?;
        let set = [feedback.is_some(), expectation.is_some(), issue.is_some()].iter().filter(|b| **b).count();
        if set > 1 {
            return Err(invalid("assessment", "only one of feedback, expectation and issue may be set"));
        }
        let value = if let Some(f) = feedback {
            AssessmentValue::Feedback {
                value: f.get("value").cloned(),
                error: f.get("error").filter(|e| !e.is_null()).cloned(),
            }
        } else if let Some(e) = expectation {
            if let Some(serialized) = opt_obj(e, "serialized_value", "assessment.expectation.serialized_value")? {
                AssessmentValue::SerializedExpectation {
                    serialization_format: opt_str(
                        serialized,
                        "serialization_format",
                        "assessment.expectation.serialized_value.serialization_format",
                    )?
                    .unwrap_or_default(),
                    value: opt_str(serialized, "value", "assessment.expectation.serialized_value.value")?
                        .unwrap_or_default(),
                }
            } else {
                AssessmentValue::Expectation(e.get("value").cloned().unwrap_or(Value::Null))
            }
        } else if let Some(i) = issue {
            AssessmentValue::Issue {
                issue_name: opt_str(i, "issue_name", "assessment.issue.issue_name")?.unwrap_or_default(),
            }
        } else {
            AssessmentValue::None
        };
        let mut metadata = IndexMap::new();
        if let Some(m) = opt_obj(obj, "metadata", "assessment.metadata")? {
            for (k, v) in m {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                metadata.insert(k.clone(), text);
            }
        }
        let valid = match obj.get("valid") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(other) => return Err(invalid("assessment.valid", format!("expected true or false, got {other}"))),
        };
        let extra = obj
            .iter()
            .filter(|(k, _)| !MODELLED_FIELDS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Assessment {
            assessment_id: opt_str(obj, "assessment_id", "assessment.assessment_id")?.unwrap_or_default(),
            assessment_name: opt_str(obj, "assessment_name", "assessment.assessment_name")?.unwrap_or_default(),
            trace_id: opt_str(obj, "trace_id", "assessment.trace_id")?.unwrap_or_default(),
            span_id: opt_str(obj, "span_id", "assessment.span_id")?.filter(|s| !s.is_empty()),
            source,
            create_time_ms: opt_time(obj, "create_time", "assessment.create_time")?,
            last_update_time_ms: opt_time(obj, "last_update_time", "assessment.last_update_time")?,
            value,
            rationale: opt_str(obj, "rationale", "assessment.rationale")?,
            metadata,
            overrides: opt_str(obj, "overrides", "assessment.overrides")?.filter(|s| !s.is_empty()),
            valid,
            extra,
        })
    }

    /// The proto-JSON dict form (`MessageToDict(..., preserving_proto_field_name=True)`):
    /// unset fields are omitted, `valid` is always written.
    pub fn to_json(&self) -> Value {
        let mut obj = Map::new();
        if !self.assessment_id.is_empty() {
            obj.insert("assessment_id".into(), Value::String(self.assessment_id.clone()));
        }
        if !self.assessment_name.is_empty() {
            obj.insert("assessment_name".into(), Value::String(self.assessment_name.clone()));
        }
        if !self.trace_id.is_empty() {
            obj.insert("trace_id".into(), Value::String(self.trace_id.clone()));
        }
        if let Some(span_id) = &self.span_id {
            obj.insert("span_id".into(), Value::String(span_id.clone()));
        }
        if let Some(source) = &self.source {
            let mut s = Map::new();
            s.insert("source_type".into(), Value::String(source.source_type.clone()));
            if let Some(id) = &source.source_id {
                s.insert("source_id".into(), Value::String(id.clone()));
            }
            obj.insert("source".into(), Value::Object(s));
        }
        if let Some(ms) = self.create_time_ms {
            obj.insert("create_time".into(), Value::String(timestamp_from_ms(ms)));
        }
        if let Some(ms) = self.last_update_time_ms {
            obj.insert("last_update_time".into(), Value::String(timestamp_from_ms(ms)));
        }
        match &self.value {
            AssessmentValue::Feedback { value, error } => {
                let mut f = Map::new();
                if let Some(v) = value {
                    f.insert("value".into(), v.clone());
                }
                if let Some(e) = error {
                    f.insert("error".into(), e.clone());
                }
                obj.insert("feedback".into(), Value::Object(f));
            }
            AssessmentValue::Expectation(v) => {
                let mut e = Map::new();
                e.insert("value".into(), v.clone());
                obj.insert("expectation".into(), Value::Object(e));
            }
            AssessmentValue::SerializedExpectation { serialization_format, value } => {
                let mut s = Map::new();
                s.insert("serialization_format".into(), Value::String(serialization_format.clone()));
                s.insert("value".into(), Value::String(value.clone()));
                let mut e = Map::new();
                e.insert("serialized_value".into(), Value::Object(s));
                obj.insert("expectation".into(), Value::Object(e));
            }
            AssessmentValue::Issue { issue_name } => {
                let mut i = Map::new();
                i.insert("issue_name".into(), Value::String(issue_name.clone()));
                obj.insert("issue".into(), Value::Object(i));
            }
            AssessmentValue::None => {}
        }
        if let Some(r) = &self.rationale {
            obj.insert("rationale".into(), Value::String(r.clone()));
        }
        if !self.metadata.is_empty() {
            let m = self.metadata.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
            obj.insert("metadata".into(), Value::Object(m));
        }
        if let Some(o) = &self.overrides {
            obj.insert("overrides".into(), Value::String(o.clone()));
        }
        obj.insert("valid".into(), Value::Bool(self.valid));
        for (k, v) in &self.extra {
            obj.entry(k.clone()).or_insert_with(|| v.clone());
        }
        Value::Object(obj)
    }

    /// Checks what a new assessment needs: a name, a value, a known source type.
    pub fn validate_new(&self) -> Result<(), ModelError> {
        if self.assessment_name.trim().is_empty() {
            return Err(invalid("assessment.assessment_name", "must not be empty"));
        }
        if self.value == AssessmentValue::None {
            return Err(invalid("assessment", "one of feedback, expectation or issue must be set"));
        }
        if let Some(source) = &self.source {
            if !SOURCE_TYPES.contains(&source.source_type.as_str()) {
                return Err(invalid(
                    "assessment.source.source_type",
                    format!("{:?} is not one of {}", source.source_type, SOURCE_TYPES.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

/// The changes of an `UpdateAssessment` call. Each `Some` field is in the update mask
/// (MLflow's `assessmentName,feedback,rationale,metadata,expectation`); `None` leaves the
/// stored value alone.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AssessmentUpdate {
    /// `assessmentName`.
    pub assessment_name: Option<String>,
    /// `feedback` or `expectation`: must be of the same kind as the stored value.
    pub value: Option<AssessmentValue>,
    /// `rationale`; `Some(None)` clears it.
    pub rationale: Option<Option<String>>,
    /// `metadata`: merged into the stored metadata (MLflow's semantics: existing keys are
    /// overwritten, others kept).
    pub metadata: Option<IndexMap<String, String>>,
}

impl AssessmentUpdate {
    /// Builds the update from an `UpdateAssessment` request: the `assessment` dict and the
    /// comma-separated `update_mask` (camelCase or snake_case paths).
    ///
    /// ```
    /// use clew_model::assessment::AssessmentUpdate;
    /// let body = serde_json::json!({"assessment_name": "x", "rationale": "because"});
    /// let update = AssessmentUpdate::from_mask(&body, "assessmentName,rationale").unwrap();
    /// assert_eq!(update.assessment_name.as_deref(), Some("x"));
    /// assert_eq!(update.rationale, Some(Some("because".to_string())));
    /// assert!(AssessmentUpdate::from_mask(&body, "trace_id").is_err());
    /// ```
    pub fn from_mask(assessment: &Value, update_mask: &str) -> Result<AssessmentUpdate, ModelError> {
        let parsed = Assessment::from_json(assessment)?;
        let mut update = AssessmentUpdate::default();
        for path in update_mask.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match path {
                "assessmentName" | "assessment_name" => {
                    if parsed.assessment_name.trim().is_empty() {
                        return Err(invalid("assessment.assessment_name", "must not be empty"));
                    }
                    update.assessment_name = Some(parsed.assessment_name.clone());
                }
                "feedback" => {
                    if !matches!(parsed.value, AssessmentValue::Feedback { .. }) {
                        return Err(invalid("update_mask", "`feedback` is in the mask but the assessment has no feedback"));
                    }
                    update.value = Some(parsed.value.clone());
                }
                "expectation" => {
                    if !matches!(
                        parsed.value,
                        AssessmentValue::Expectation(_) | AssessmentValue::SerializedExpectation { .. }
                    ) {
                        return Err(invalid(
                            "update_mask",
                            "`expectation` is in the mask but the assessment has no expectation",
                        ));
                    }
                    update.value = Some(parsed.value.clone());
                }
                "rationale" => update.rationale = Some(parsed.rationale.clone()),
                "metadata" => update.metadata = Some(parsed.metadata.clone()),
                other => {
                    return Err(invalid(
                        "update_mask",
                        format!("{other:?} cannot be updated (allowed: assessmentName, feedback, expectation, rationale, metadata)"),
                    ))
                }
            }
        }
        Ok(update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_feedback_dict_round_trips() {
        let dict = json!({
            "assessment_id": "a-0123456789abcdef0123456789abcdef",
            "assessment_name": "relevance",
            "trace_id": "tr-0af7651916cd43dd8448eb211c80319c",
            "span_id": "00f067aa0ba902b7",
            "source": {"source_type": "LLM_JUDGE", "source_id": "gpt-judge"},
            "create_time": "2026-11-21T05:26:11.687Z",
            "last_update_time": "2026-11-21T05:26:12Z",
            "feedback": {"value": {"score": 0.9, "labels": ["a", "b"]},
                         "error": {"error_code": "RATE_LIMIT", "error_message": "slow down"}},
            "rationale": "mostly on topic",
            "metadata": {"mlflow.assessment.judgeCost": "0.01"},
            "overrides": "a-ffffffffffffffffffffffffffffffff",
            "valid": false
        });
        let a = Assessment::from_json(&dict).unwrap();
        assert_eq!(a.create_time_ms, Some(1795238771687));
        assert_eq!(a.last_update_time_ms, Some(1795238772000));
        assert!(!a.valid);
        assert_eq!(a.value.kind(), Some("feedback"));
        assert_eq!(a.to_json(), dict);
        assert_eq!(Assessment::from_json(&a.to_json()).unwrap(), a);
    }

    #[test]
    fn expectations_round_trip_in_both_forms() {
        let plain = json!({"assessment_name": "expected", "expectation": {"value": ["x", 1]}, "valid": true});
        let a = Assessment::from_json(&plain).unwrap();
        assert_eq!(a.value, AssessmentValue::Expectation(json!(["x", 1])));
        assert_eq!(a.to_json(), plain);

        let serialized = json!({
            "assessment_name": "expected",
            "expectation": {"serialized_value": {"serialization_format": "JSON_FORMAT", "value": "{\"a\": 1}"}},
            "valid": true
        });
        let b = Assessment::from_json(&serialized).unwrap();
        assert_eq!(b.value.kind(), Some("expectation"));
        assert_eq!(b.value.search_value(), Some(json!("{\"a\": 1}")));
        assert_eq!(b.to_json(), serialized);
    }

    #[test]
    fn unknown_fields_are_kept_and_valid_defaults_to_true() {
        let dict = json!({"assessment_name": "n", "feedback": {"value": 1}, "error": {"error_code": "X"}});
        let a = Assessment::from_json(&dict).unwrap();
        assert!(a.valid);
        assert_eq!(a.to_json()["error"], json!({"error_code": "X"}));
        assert_eq!(a.to_json()["valid"], json!(true));
    }

    #[test]
    fn malformed_dicts_are_errors_naming_the_field() {
        let err = Assessment::from_json(&json!({"create_time": "yesterday"})).unwrap_err().to_string();
        assert!(err.contains("create_time"), "{err}");
        let err = Assessment::from_json(&json!({"feedback": {"value": 1}, "expectation": {"value": 1}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("only one"), "{err}");
        assert!(Assessment::from_json(&json!("nope")).is_err());
        assert!(Assessment::from_json(&json!({"valid": "yes"})).is_err());
        assert!(Assessment::from_json(&json!({"source": []})).is_err());
    }

    #[test]
    fn new_assessments_need_a_name_a_value_and_a_known_source() {
        let mut a = Assessment { assessment_name: "n".into(), ..Default::default() };
        assert!(a.validate_new().is_err());
        a.value = AssessmentValue::Feedback { value: Some(json!(true)), error: None };
        assert!(a.validate_new().is_ok());
        a.source = Some(AssessmentSource { source_type: "ROBOT".into(), source_id: None });
        assert!(a.validate_new().unwrap_err().to_string().contains("ROBOT"));
    }

    #[test]
    fn update_mask_selects_fields() {
        let body = json!({"assessment_name": "n", "feedback": {"value": 2}, "metadata": {"k": "v"}});
        let u = AssessmentUpdate::from_mask(&body, "feedback, metadata").unwrap();
        assert_eq!(u.assessment_name, None);
        assert_eq!(u.value, Some(AssessmentValue::Feedback { value: Some(json!(2)), error: None }));
        assert_eq!(u.metadata.unwrap().get("k").map(String::as_str), Some("v"));
        assert_eq!(u.rationale, None);
        assert!(AssessmentUpdate::from_mask(&body, "expectation").is_err());
        assert_eq!(AssessmentUpdate::from_mask(&body, "").unwrap(), AssessmentUpdate::default());
    }
}
