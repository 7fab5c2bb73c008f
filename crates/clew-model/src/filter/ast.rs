//! The parsed form of an MLflow trace search filter (spec §5) and of `order_by` entries.

/// A whole filter: comparisons joined by AND. An empty filter matches everything.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Filter {
    pub clauses: Vec<Comparison>,
}

/// `<field> <op> <value>`.
#[derive(Clone, Debug, PartialEq)]
pub struct Comparison {
    pub field: Field,
    pub op: CompareOp,
    pub value: FilterValue,
    /// Byte offsets of this comparison in the filter string, for error messages.
    pub position: (usize, usize),
}

/// What a comparison looks at.
#[derive(Clone, Debug, PartialEq)]
pub enum Field {
    /// A trace column (`attribute.`/`attributes.`/`trace.` prefix, or none).
    Attribute(TraceAttribute),
    /// `tag.<key>` / `tags.<key>`.
    Tag(String),
    /// `metadata.<key>` / `request_metadata.<key>`.
    Metadata(String),
    /// `span.<field>`. All span clauses of one filter hold on the same span.
    Span(SpanField),
    /// `feedback.<name>`.
    Feedback(String),
    /// `expectation.<name>`.
    Expectation(String),
    /// `issue.id`.
    IssueId,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceAttribute {
    /// `timestamp_ms` / `timestamp`.
    TimestampMs,
    /// `execution_time_ms` / `execution_time`.
    ExecutionTimeMs,
    /// `end_time_ms` / `end_time`: timestamp + coalesce(execution time, 0).
    EndTimeMs,
    /// The trace **state**.
    Status,
    RequestId,
    ClientRequestId,
    /// Tag `mlflow.traceName`.
    Name,
    /// Metadata `mlflow.sourceRun` (or a trace linked to the run).
    RunId,
    /// A linked prompt `name/version`.
    Prompt,
    /// Full-text over span content.
    Text,
}

#[derive(Clone, Debug, PartialEq)]
pub enum SpanField {
    Name,
    Type,
    Status,
    Content,
    /// `span.attributes.<attr>`.
    Attribute(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
    ILike,
    RLike,
    In,
    NotIn,
    IsNull,
    IsNotNull,
}

/// The right-hand side.
#[derive(Clone, Debug, PartialEq)]
pub enum FilterValue {
    /// A quoted string.
    Str(String),
    /// A bare number (numeric attributes only).
    Number(f64),
    /// `('a', 'b')` for IN / NOT IN.
    List(Vec<String>),
    /// For IS NULL / IS NOT NULL.
    None,
}

/// One `order_by` entry: `"<key> [ASC|DESC]"`.
#[derive(Clone, Debug, PartialEq)]
pub struct OrderBy {
    pub key: OrderKey,
    pub ascending: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OrderKey {
    TimestampMs,
    ExecutionTimeMs,
    Status,
    RequestId,
    ExperimentId,
    /// Tag `mlflow.traceName`.
    Name,
    /// Metadata `mlflow.sourceRun`.
    RunId,
    Tag(String),
    Metadata(String),
}
