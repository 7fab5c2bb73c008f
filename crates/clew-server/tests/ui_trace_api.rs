//! The trace view's JSON API over real HTTP on a real SQLite file: the columnar skeleton (order,
//! parents, names, types, status, times), span bodies on demand, search within a trace, errors,
//! gzip, and a 100,000-span trace's skeleton size and latency (printed, not asserted).

mod rest_support;

use clew_model::{keys, Span, SpanEvent, SpanId, SpanStatus, TraceId};
use rest_support::{trace_id, Answer, TestServer};
use serde_json::{json, Value};
use std::io::Read;
use std::time::Instant;

const T0_MS: i64 = 1_795_238_771_687;

/// A span of trace `n` starting `start_us` after T0, lasting `dur_us` (None = not ended).
fn span_at(
    n: u128,
    id: u64,
    parent: Option<u64>,
    name: &str,
    span_type: Option<&str>,
    start_us: i64,
    dur_us: Option<i64>,
) -> Span {
    let start = T0_MS * 1_000_000 + start_us * 1_000;
    let mut span = Span {
        trace_id: TraceId::from_u128(n),
        span_id: SpanId::from_u64(id),
        parent_id: parent.map(SpanId::from_u64),
        name: name.to_string(),
        start_time_ns: start,
        end_time_ns: dur_us.map(|d| start + d * 1_000),
        status: SpanStatus::ok(),
        attributes: Default::default(),
        events: vec![],
        links: vec![],
    };
    span.attributes
        .insert(keys::TRACE_REQUEST_ID.into(), format!("\"{}\"", trace_id(n)));
    if let Some(t) = span_type {
        span.attributes.insert(keys::SPAN_TYPE.into(), format!("\"{t}\""));
    }
    span
}

fn hex(id: u64) -> String {
    SpanId::from_u64(id).to_hex()
}

fn base64(id: u64) -> String {
    SpanId::from_u64(id).to_base64()
}

/// An agent trace: root → plan (LLM) → [search (TOOL, error), lookup (RETRIEVER)], answer
/// (CHAT_MODEL, not ended), and a span whose parent was never stored.
async fn agent_trace(server: &TestServer, exp: &str) -> String {
    let mut root = span_at(1, 1, None, "agent", Some("AGENT"), 0, Some(5_000));
    root.attributes.insert(
        keys::SPAN_INPUTS.into(),
        r#"{"question": "Où est la crème brûlée?"}"#.into(),
    );
    root.attributes
        .insert(keys::SPAN_OUTPUTS.into(), r#""It is in the fridge""#.into());
    let mut plan = span_at(1, 2, Some(1), "plan", Some("LLM"), 100, Some(1_200));
    plan.attributes
        .insert("mlflow.llm.model".into(), "\"gpt-4o-mini\"".into());
    plan.attributes.insert(
        keys::SPAN_OUTPUTS.into(),
        r#"{"text": "line one\nline two", "note": "caf\u00e9"}"#.into(),
    );
    let mut search = span_at(1, 3, Some(2), "search", Some("TOOL"), 300, Some(400));
    search.status = SpanStatus::error("boom");
    let mut event = SpanEvent::new("exception");
    event.attributes.insert("exception.type".into(), json!("TimeoutError"));
    event
        .attributes
        .insert("exception.message".into(), json!("upstream took too long"));
    search.events.push(event);
    let lookup = span_at(1, 4, Some(2), "lookup", Some("RETRIEVER"), 800, Some(300));
    let mut answer = span_at(1, 5, Some(1), "answer", Some("CHAT_MODEL"), 2_000, None);
    answer.status = SpanStatus::unset();
    let orphan = span_at(1, 6, Some(99), "late child", None, 2_500, Some(1));
    // Sent out of order and in two batches: the skeleton's order must not depend on it.
    server
        .state
        .ingest
        .log_spans(exp, vec![answer, lookup, orphan])
        .await
        .unwrap();
    server
        .state
        .ingest
        .log_spans(exp, vec![search, root, plan])
        .await
        .unwrap();
    trace_id(1)
}

fn gunzip(answer: &Answer) -> Vec<u8> {
    if answer.header("content-encoding").as_deref() == Some("gzip") {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&answer.body[..])
            .read_to_end(&mut out)
            .expect("valid gzip");
        out
    } else {
        answer.body.clone()
    }
}

fn names(skeleton: &Value) -> Vec<String> {
    let table = skeleton["name_table"].as_array().unwrap();
    skeleton["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| table[i.as_u64().unwrap() as usize].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skeleton_lists_every_span_root_first_with_parent_indexes_types_status_and_times() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("ui").await;
    let id = agent_trace(&server, &exp).await;

    let answer = server.get(&format!("/ajax-api/clew/traces/{id}/skeleton")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(answer.header("content-type").as_deref(), Some("application/json"));
    let body = answer.json();
    assert_eq!(body["trace_info"]["trace_id"], id);
    assert_eq!(
        body["trace_info"]["trace_location"]["mlflow_experiment"]["experiment_id"],
        exp.as_str()
    );
    let sk = &body["skeleton"];
    assert_eq!(sk["count"], 6);
    assert_eq!(sk["start_ns"], (T0_MS * 1_000_000).to_string());

    // The root first, then by start time; the span whose parent was never stored is a root
    // of the view (parent -1) but keeps its place in time.
    let ids: Vec<String> = (0..6)
        .map(|i| sk["ids"].as_str().unwrap()[i * 16..i * 16 + 16].to_string())
        .collect();
    assert_eq!(sk["ids"].as_str().unwrap().len(), 6 * 16);
    assert_eq!(
        ids,
        [1, 2, 3, 4, 5, 6].map(hex).to_vec(),
        "root first, then by start time"
    );
    assert_eq!(names(sk), ["agent", "plan", "search", "lookup", "answer", "late child"]);
    assert_eq!(
        sk["parents"],
        json!([-1, 0, 1, 1, 0, -1]),
        "indexes into the same arrays; a missing parent is -1"
    );
    let types = sk["type_table"].as_array().unwrap();
    let type_of: Vec<&str> = sk["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| types[i.as_u64().unwrap() as usize].as_str().unwrap())
        .collect();
    assert_eq!(type_of, ["AGENT", "LLM", "TOOL", "RETRIEVER", "CHAT_MODEL", ""]);
    assert_eq!(sk["status"], "OOEOUO", "one letter per span: Ok, Error, Unset");
    assert_eq!(sk["start_us"], json!([0, 100, 300, 800, 2_000, 2_500]));
    assert_eq!(
        sk["duration_us"],
        json!([5_000, 1_200, 400, 300, -1, 1]),
        "-1 = not ended"
    );
    assert_eq!(sk["name_table"].as_array().unwrap().len(), 6);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skeleton_dictionary_encodes_repeated_names_and_types() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("ui").await;
    let mut spans = vec![span_at(2, 1, None, "loop", Some("CHAIN"), 0, Some(1_000))];
    for i in 0..50u64 {
        spans.push(span_at(
            2,
            10 + i,
            Some(1),
            if i % 2 == 0 { "step" } else { "tool" },
            Some("TOOL"),
            10 + i as i64,
            Some(5),
        ));
    }
    server.state.ingest.log_spans(&exp, spans).await.unwrap();
    let sk = server
        .get(&format!("/ajax-api/clew/traces/{}/skeleton", trace_id(2)))
        .await
        .json()["skeleton"]
        .clone();
    assert_eq!(sk["count"], 51);
    assert_eq!(sk["name_table"], json!(["loop", "step", "tool"]));
    assert_eq!(sk["type_table"], json!(["CHAIN", "TOOL"]));
    let n = names(&sk);
    assert_eq!(&n[1..4], ["step", "tool", "step"]);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spans_come_on_demand_as_span_dicts_in_request_order() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("ui").await;
    let id = agent_trace(&server, &exp).await;

    let answer = server
        .get(&format!(
            "/ajax-api/clew/traces/{id}/spans?ids={},{},{}",
            hex(3),
            hex(1),
            "00000000000000ff"
        ))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let spans = answer.json()["spans"].as_array().unwrap().clone();
    assert_eq!(spans.len(), 2, "an unknown span id is skipped");
    assert_eq!(spans[0]["span_id"], base64(3), "request order");
    assert_eq!(spans[0]["parent_span_id"], base64(2));
    assert_eq!(spans[0]["name"], "search");
    assert_eq!(spans[0]["status"]["code"], "STATUS_CODE_ERROR");
    assert_eq!(spans[0]["status"]["message"], "boom");
    assert_eq!(spans[0]["events"][0]["name"], "exception");
    assert_eq!(spans[0]["events"][0]["attributes"]["exception.type"], "TimeoutError");
    assert_eq!(spans[1]["span_id"], base64(1));
    assert_eq!(spans[1]["parent_span_id"], Value::Null);
    // Attribute values are JSON text, as in MLflow's span dict.
    let inputs: Value = serde_json::from_str(spans[1]["attributes"][keys::SPAN_INPUTS].as_str().unwrap()).unwrap();
    assert_eq!(inputs["question"], "Où est la crème brûlée?");
    assert_eq!(spans[1]["attributes"][keys::SPAN_TYPE], "\"AGENT\"");

    // The same through POST with a JSON list, and repeated query keys; duplicates collapse.
    let posted = server
        .post(
            &format!("/ajax-api/clew/traces/{id}/spans"),
            json!({"ids": [hex(5), hex(5), hex(2)]}),
        )
        .await;
    assert_eq!(posted.status, 200, "{}", posted.text());
    let names: Vec<Value> = posted.json()["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, [json!("answer"), json!("plan")]);
    let repeated = server
        .get(&format!(
            "/ajax-api/clew/traces/{id}/spans?ids={}&ids={}",
            hex(4),
            hex(6)
        ))
        .await;
    assert_eq!(repeated.json()["spans"].as_array().unwrap().len(), 2);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_mlflow_json_errors() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("ui").await;
    let id = agent_trace(&server, &exp).await;
    let unknown = trace_id(77);

    let message = server
        .get(&format!("/ajax-api/clew/traces/{unknown}/skeleton"))
        .await
        .error(404, "RESOURCE_DOES_NOT_EXIST");
    assert!(message.contains(&unknown), "{message}");
    server
        .get(&format!("/ajax-api/clew/traces/{unknown}/spans?ids={}", hex(1)))
        .await
        .error(404, "RESOURCE_DOES_NOT_EXIST");
    server
        .get(&format!("/ajax-api/clew/traces/{unknown}/search?q=x"))
        .await
        .error(404, "RESOURCE_DOES_NOT_EXIST");

    let message = server
        .get(&format!("/ajax-api/clew/traces/{id}/spans?ids=nothex"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'ids'") && message.contains("nothex"), "{message}");
    server
        .get(&format!("/ajax-api/clew/traces/{id}/spans?ids=0123"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    let message = server
        .get(&format!("/ajax-api/clew/traces/{id}/spans"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("ids"), "{message}");
    let too_many: Vec<String> = (1..=201).map(hex).collect();
    let message = server
        .post(&format!("/ajax-api/clew/traces/{id}/spans"), json!({"ids": too_many}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("201") && message.contains("200"), "{message}");
    server
        .post(&format!("/ajax-api/clew/traces/{id}/spans"), json!({"ids": {"a": 1}}))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");

    let message = server
        .get(&format!("/ajax-api/clew/traces/{id}/search"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    assert!(message.contains("'q'"), "{message}");
    server
        .get(&format!("/ajax-api/clew/traces/{id}/search?q=%20%20"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    let long = "x".repeat(1001);
    server
        .get(&format!("/ajax-api/clew/traces/{id}/search?q={long}"))
        .await
        .error(400, "INVALID_PARAMETER_VALUE");
    server.stop().await.unwrap();
}

async fn search(server: &TestServer, id: &str, q: &str) -> Vec<String> {
    let url = format!(
        "/ajax-api/clew/traces/{id}/search?{}",
        serde_urlencoded::to_string([("q", q)]).unwrap()
    );
    let answer = server.get(&url).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let body = answer.json();
    assert_eq!(body["truncated"], false);
    let mut ids: Vec<String> = body["span_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_matches_names_inputs_outputs_attributes_and_events_case_insensitively() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("ui").await;
    let id = agent_trace(&server, &exp).await;

    assert_eq!(search(&server, &id, "SEARCH").await, [hex(3)], "name, any case");
    assert_eq!(
        search(&server, &id, "crème").await,
        [hex(1)],
        "inside inputs, non-ASCII"
    );
    assert_eq!(search(&server, &id, "fridge").await, [hex(1)], "inside outputs");
    assert_eq!(search(&server, &id, "gpt-4o").await, [hex(2)], "an attribute value");
    assert_eq!(
        search(&server, &id, "café").await,
        [hex(2)],
        "a \\u escape decodes before matching"
    );
    assert_eq!(
        search(&server, &id, "u00e9").await,
        Vec::<String>::new(),
        "the escape itself is not content"
    );
    assert_eq!(
        search(&server, &id, "line one\nline").await,
        [hex(2)],
        "across a newline"
    );
    assert_eq!(
        search(&server, &id, "ntwo").await,
        Vec::<String>::new(),
        "\\n is a newline, not the letter n"
    );
    assert_eq!(
        search(&server, &id, "took too long").await,
        [hex(3)],
        "an event attribute"
    );
    assert_eq!(search(&server, &id, "boom").await, [hex(3)], "the status message");
    assert_eq!(
        search(&server, &id, "\"question\": \"où").await,
        Vec::<String>::new(),
        "JSON punctuation is not content"
    );
    assert_eq!(
        search(&server, &id, "no such text anywhere").await,
        Vec::<String>::new()
    );
    let everything = search(&server, &id, &trace_id(1)[3..12]).await;
    assert_eq!(
        everything.len(),
        6,
        "every span carries its trace id attribute: {everything:?}"
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_are_gzip_compressed_only_when_the_client_accepts_it() {
    let server = TestServer::start().await;
    let exp = server.create_experiment("ui").await;
    let spans: Vec<Span> = std::iter::once(span_at(3, 1, None, "root", Some("CHAIN"), 0, Some(10_000)))
        .chain((2..400u64).map(|i| {
            span_at(
                3,
                i,
                Some(1),
                &format!("step {}", i % 7),
                Some("TOOL"),
                i as i64,
                Some(3),
            )
        }))
        .collect();
    server.state.ingest.log_spans(&exp, spans).await.unwrap();
    let path = format!("/ajax-api/clew/traces/{}/skeleton", trace_id(3));

    let plain = server.get(&path).await;
    assert_eq!(plain.header("content-encoding"), None);
    let gz = server
        .send(
            reqwest::Method::GET,
            &path,
            None,
            &[("Accept-Encoding", "br, gzip;q=0.8")],
        )
        .await;
    assert_eq!(gz.status, 200);
    assert_eq!(gz.header("content-encoding").as_deref(), Some("gzip"));
    assert_eq!(gz.header("vary").as_deref(), Some("accept-encoding"));
    assert!(
        gz.body.len() * 2 < plain.body.len(),
        "gzip {} vs raw {}",
        gz.body.len(),
        plain.body.len()
    );
    assert_eq!(gunzip(&gz), plain.body, "the same JSON once decompressed");
    let refused = server
        .send(reqwest::Method::GET, &path, None, &[("Accept-Encoding", "gzip;q=0")])
        .await;
    assert_eq!(refused.header("content-encoding"), None, "q=0 refuses gzip");
    // Small answers are not worth compressing.
    let small = server
        .send(
            reqwest::Method::GET,
            &format!("/ajax-api/clew/traces/{}/search?q=zzz", trace_id(3)),
            None,
            &[("Accept-Encoding", "gzip")],
        )
        .await;
    assert_eq!(small.header("content-encoding"), None);
    server.stop().await.unwrap();
}

/// 100,000 spans in a realistic shape (agent steps of LLM call + tools, nested), stored
/// through the store; the skeleton's size and latency are printed for docs/benchmarks.md.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100k_span_trace_has_a_compact_skeleton() {
    const N: u64 = 100_000;
    let server = TestServer::start().await;
    let exp = server.create_experiment("giant").await;
    let started = Instant::now();
    let mut batch = vec![span_at(9, 1, None, "giant agent", Some("AGENT"), 0, Some(600_000_000))];
    let kinds = [
        ("step", "CHAIN"),
        ("call_llm", "CHAT_MODEL"),
        ("search_docs", "RETRIEVER"),
        ("run_tool", "TOOL"),
    ];
    for i in 2..=N {
        // Steps hang off the root; each step's next three spans are its children.
        let (name, ty) = kinds[(i % 4) as usize];
        let parent = if i % 4 == 0 { 1 } else { i - (i % 4) };
        let mut span = span_at(9, i, Some(parent.max(1)), name, Some(ty), i as i64 * 5_000, Some(4_000));
        span.attributes
            .insert(keys::SPAN_INPUTS.into(), format!("{{\"step\": {i}}}"));
        batch.push(span);
        if batch.len() == 10_000 {
            server
                .state
                .store
                .log_spans(&exp, std::mem::take(&mut batch))
                .await
                .unwrap();
        }
    }
    server.state.store.log_spans(&exp, batch).await.unwrap();
    eprintln!("wrote {N} spans in {:.1} s", started.elapsed().as_secs_f64());

    let path = format!("/ajax-api/clew/traces/{}/skeleton", trace_id(9));
    for round in 0..2 {
        let t = Instant::now();
        let raw = server.get(&path).await;
        let raw_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let gz = server
            .send(reqwest::Method::GET, &path, None, &[("Accept-Encoding", "gzip")])
            .await;
        let gz_ms = t.elapsed().as_secs_f64() * 1e3;
        assert_eq!(raw.status, 200);
        eprintln!(
            "skeleton of {N} spans (round {round}): {} bytes raw in {raw_ms:.0} ms, {} bytes gzip in {gz_ms:.0} ms ({:.1} bytes/span raw, {:.1} gzip; debug build)",
            raw.body.len(),
            gz.body.len(),
            raw.body.len() as f64 / N as f64,
            gz.body.len() as f64 / N as f64
        );
        let sk = &raw.json()["skeleton"];
        assert_eq!(sk["count"], N);
        assert_eq!(sk["parents"].as_array().unwrap().len(), N as usize);
        assert!(
            sk["parents"]
                .as_array()
                .unwrap()
                .iter()
                .skip(1)
                .all(|p| p.as_i64().unwrap() >= 0),
            "every parent found"
        );
        assert!(
            raw.body.len() < 60 * N as usize,
            "about 50 bytes per span, got {}",
            raw.body.len()
        );
    }
    let t = Instant::now();
    let found = search(&server, &trace_id(9), "\"step\": 99999").await;
    eprintln!("search over {N} spans: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    assert!(found.is_empty(), "JSON punctuation is not matched as content");
    let t = Instant::now();
    let found = search(&server, &trace_id(9), "99999").await;
    eprintln!("search over {N} spans: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    assert_eq!(found, [hex(99_999)]);
    // A text in a quarter of the spans: the answer stops at the cap, in skeleton order, and says so.
    let t = Instant::now();
    let many = server
        .get(&format!("/ajax-api/clew/traces/{}/search?q=CALL_LLM", trace_id(9)))
        .await
        .json();
    eprintln!("search over {N} spans, 25,000 hits: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    assert_eq!(many["truncated"], true);
    let many: Vec<&str> = many["span_ids"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(many.len(), 10_000);
    assert_eq!(many[..2], [hex(5).as_str(), hex(9).as_str()]);
    let t = Instant::now();
    let spans = server
        .get(&format!(
            "/ajax-api/clew/traces/{}/spans?ids={},{}",
            trace_id(9),
            hex(50_000),
            hex(99_999)
        ))
        .await;
    eprintln!("two spans of {N} on demand: {:.0} ms", t.elapsed().as_secs_f64() * 1e3);
    assert_eq!(spans.json()["spans"].as_array().unwrap().len(), 2);
    server.stop().await.unwrap();
}
