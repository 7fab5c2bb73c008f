//! W3C `traceparent`: the spec's examples and what OpenTelemetry Python's propagator (the one
//! MLflow uses) accepts and rejects (`scripts/traceparent_expectations.py`), plus the header
//! MLflow 3.17.2 writes.

use clew_model::propagation::{
    extract_from_headers, format_traceparent, format_traceparent_with_flags, parse_traceparent,
    RemoteContext, FLAG_SAMPLED,
};
use clew_model::{ModelError, SpanId, TraceId};

const T: &str = "0af7651916cd43dd8448eb211c80319c";
const S: &str = "b7ad6b7169203331";

/// What the propagator made of a value: `(trace id, span id, flags)`, or `None` if rejected.
type Extracted = Option<(&'static str, &'static str, u8)>;

/// `(value, Some((trace id, span id, flags)))` for accepted values, `None` for rejected ones,
/// as OpenTelemetry Python's `TraceContextTextMapPropagator.extract` decided.
fn pinned_cases() -> Vec<(String, Extracted)> {
    let ok = |t: &'static str, s: &'static str, f: u8| Some((t, s, f));
    vec![
        (format!("00-{T}-{S}-01"), ok(T, S, 1)),
        (format!("00-{T}-{S}-00"), ok(T, S, 0)),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
            ok("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", 1),
        ),
        (format!("00-{T}-{S}-03"), ok(T, S, 3)),
        (format!("00-{T}-{S}-ff"), ok(T, S, 255)),
        (format!("00-{}-{S}-01", "0".repeat(32)), None),
        (format!("00-{T}-{}-01", "0".repeat(16)), None),
        (format!("ff-{T}-{S}-01"), None),
        (format!("00-{}-{S}-01", T.to_uppercase()), None),
        (format!("00-{T}-{}-01", S.to_uppercase()), None),
        (format!("00-{T}-{S}-0A"), None),
        (format!("cc-{T}-{S}-01-what-the-future-holds"), ok(T, S, 1)),
        (format!("cc-{T}-{S}-01"), ok(T, S, 1)),
        (format!("cc-{T}-{S}-01x"), None),
        (format!("00-{T}-{S}-01-extra"), None),
        (format!("00-{T}-{S}-01x"), None),
        (format!("  00-{T}-{S}-01\t"), ok(T, S, 1)),
        (format!("00-{}-{S}-01", &T[..31]), None),
        (format!("00-{T}-{S}1-01"), None),
        (format!("00_{T}_{S}_01"), None),
        (format!("0-{T}-{S}-01"), None),
        (format!("00-{T}-{S}-1"), None),
        (format!("00-{T}-{S}-0g"), None),
        (format!("0g-{T}-{S}-01"), None),
        (String::new(), None),
        ("garbage".into(), None),
        (format!("cc-{T}-{S}-01-{}", "x".repeat(500)), None),
    ]
}

#[test]
fn parsing_agrees_with_opentelemetry_python_on_every_pinned_case() {
    for (value, expected) in pinned_cases() {
        let got = parse_traceparent(&value)
            .ok()
            .map(|c| (c.trace_id.to_hex(), c.parent_span_id.to_hex(), c.flags));
        let want = expected.map(|(t, s, f)| (t.to_string(), s.to_string(), f));
        assert_eq!(got, want, "traceparent {value:?}");
    }
}

#[test]
fn w3c_spec_example_reads_as_sampled_with_its_ids() {
    let ctx = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01").unwrap();
    assert_eq!(
        ctx,
        RemoteContext {
            version: 0,
            trace_id: TraceId::from_u128(0x4bf92f3577b34da6a3ce929d0e0e4736),
            parent_span_id: SpanId::from_u64(0x00f067aa0ba902b7),
            flags: FLAG_SAMPLED,
        }
    );
    assert!(ctx.sampled());
    assert!(
        !parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")
            .unwrap()
            .sampled()
    );
}

#[test]
fn formatting_matches_what_mlflow_sends() {
    // Captured from mlflow 3.17.2: get_tracing_context_headers_for_http_request() inside a span
    // (and the autolog header on outgoing OpenAI calls) end in -03.
    let tp = format_traceparent(
        TraceId::from_u128(0x2469f51a3b992b2e895b79eedcecd38f),
        SpanId::from_u64(0xf862f06239f5c1e8),
        true,
    );
    assert_eq!(
        tp,
        "00-2469f51a3b992b2e895b79eedcecd38f-f862f06239f5c1e8-03"
    );
    let unsampled = format_traceparent(TraceId::from_u128(1), SpanId::from_u64(2), false);
    assert_eq!(
        unsampled,
        "00-00000000000000000000000000000001-0000000000000002-02"
    );
    assert!(!parse_traceparent(&unsampled).unwrap().sampled());
    assert_eq!(
        format_traceparent_with_flags(TraceId::from_u128(1), SpanId::from_u64(2), 0x01),
        "00-00000000000000000000000000000001-0000000000000002-01"
    );
}

#[test]
fn formatted_headers_parse_back_to_the_same_context() {
    for (trace, span, sampled) in [
        (u128::MAX, u64::MAX, true),
        (1, 1, false),
        (0x0af7651916cd43dd8448eb211c80319c, 7, true),
    ] {
        let tp = format_traceparent(TraceId::from_u128(trace), SpanId::from_u64(span), sampled);
        let ctx = parse_traceparent(&tp).unwrap();
        assert_eq!(
            (
                ctx.trace_id.as_u128(),
                ctx.parent_span_id.as_u64(),
                ctx.sampled()
            ),
            (trace, span, sampled)
        );
        assert_eq!(ctx.to_traceparent(), tp);
    }
}

#[test]
fn headers_are_found_in_any_case() {
    let value = format!("00-{T}-{S}-01");
    for name in ["traceparent", "Traceparent", "TRACEPARENT"] {
        let ctx = extract_from_headers([("accept", "*/*"), (name, value.as_str())]).unwrap();
        assert_eq!(ctx.trace_id.to_mlflow(), format!("tr-{T}"));
    }
    // Owned pairs, as an HTTP framework hands them over.
    let owned = vec![("Traceparent".to_string(), value.clone())];
    assert!(extract_from_headers(owned).is_ok());
}

#[test]
fn a_missing_header_names_the_field_and_a_bad_one_is_rejected() {
    assert_eq!(
        extract_from_headers([("tracestate", "a=b")]),
        Err(ModelError::MissingField("traceparent"))
    );
    let err = extract_from_headers([("traceparent", "00-bad")]).unwrap_err();
    assert!(err.to_string().contains("traceparent"), "{err}");
}
