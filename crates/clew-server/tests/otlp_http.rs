//! OTLP/HTTP `POST /v1/traces` on a real server: encodings, compression, limits, errors,
//! the experiment header, translation of foreign spans, idempotence and overload.

mod otlp_support;

use clew_model::json::otlp_json::export_request_to_otlp_json;
use clew_model::SpanType;
use clew_server::otlp::http::RpcStatus;
use clew_server::ServerConfig;
use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
use flate2::Compression;
use otlp_support::*;
use prost::Message;
use serde_json::{json, Value};
use std::io::Write;

async fn post(server: &Server, content_type: &str, headers: &[(&str, &str)], body: Vec<u8>) -> reqwest::Response {
    let mut builder = server.client.post(&server.url).header("content-type", content_type).body(body);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.send().await.expect("request")
}

fn two_span_request(trace: u128) -> Vec<u8> {
    request(vec![
        otlp_span(trace, 1, None, "root", vec![kv("mlflow.spanInputs", string("{\"q\": \"hi\"}"))]),
        otlp_span(trace, 2, Some(1), "child", vec![kv("k", int(7))]),
    ])
    .encode_to_vec()
}

async fn json_body(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.expect("body")).expect("a JSON body")
}

async fn protobuf_error(response: reqwest::Response, status: u16) -> RpcStatus {
    assert_eq!(response.status().as_u16(), status);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    RpcStatus::decode(response.bytes().await.expect("body")).expect("a google.rpc.Status body")
}

#[tokio::test]
async fn protobuf_spans_are_committed_and_answered_with_an_empty_protobuf_response() {
    let server = start(ServerConfig::default()).await;
    let response = post(&server, "application/x-protobuf", &[], two_span_request(1)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-protobuf");
    assert!(response.bytes().await.unwrap().is_empty());

    let trace = server.state.store.get_trace(&trace_id(1)).await.unwrap().expect("trace stored");
    assert_eq!(trace.info.experiment_id(), Some("0"), "no header: the default experiment");
    assert_eq!(trace.data.spans.len(), 2);
    let root = trace.data.root().expect("root");
    assert_eq!(root.inputs(), Some(json!({"q": "hi"})));
    let child = trace.data.spans.iter().find(|s| s.name == "child").unwrap();
    assert_eq!(child.get_attribute("k"), Some(json!(7)));
}

#[tokio::test]
async fn otlp_json_with_hex_ids_is_accepted_and_answered_in_json() {
    let server = start(ServerConfig::default()).await;
    let body = export_request_to_otlp_json(&request(vec![otlp_span(2, 1, None, "json-root", vec![])]));
    assert!(body.contains("\"traceId\":\"00000000000000000000000000000002\""), "{body}");
    let response = post(&server, "application/json; charset=utf-8", &[], body.into_bytes()).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(json_body(response).await, json!({}));
    let trace = server.state.store.get_trace(&trace_id(2)).await.unwrap().expect("trace stored");
    assert_eq!(trace.data.spans[0].name, "json-root");

    // A hand-written OTLP/JSON body as collectors send it: camelCase, string int64s, hex ids.
    let body = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"c"}}]},
      "scopeSpans":[{"scope":{"name":"x"},"spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174",
      "name":"hand","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
      "attributes":[{"key":"n","value":{"intValue":"3"}},{"key":"e","value":{"arrayValue":{}}}],"status":{}}]}]}]}"#;
    let response = post(&server, "application/json", &[], body.as_bytes().to_vec()).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
    let trace = server.state.store.get_trace("tr-5b8efff798038103d269b633813fc60c").await.unwrap().expect("stored");
    assert_eq!(trace.data.spans[0].get_attribute("n"), Some(json!(3)));
}

#[tokio::test]
async fn gzip_zlib_and_raw_deflate_bodies_are_decompressed() {
    let server = start(ServerConfig::default()).await;
    type Compress = fn(&[u8]) -> Vec<u8>;
    let cases: [(&str, u128, Compress); 3] = [
        ("gzip", 10, |b| {
            let mut e = GzEncoder::new(Vec::new(), Compression::default());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        }),
        ("deflate", 11, |b| {
            let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        }),
        ("deflate", 12, |b| {
            let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
            e.write_all(b).unwrap();
            e.finish().unwrap()
        }),
    ];
    for (encoding, trace, compress) in cases {
        let body = compress(&two_span_request(trace));
        let response = post(&server, "application/x-protobuf", &[("content-encoding", encoding)], body).await;
        assert_eq!(response.status(), 200, "{encoding}");
        let stored = server.state.store.get_trace(&trace_id(trace)).await.unwrap().expect("stored");
        assert_eq!(stored.data.spans.len(), 2);
    }
    let response = post(&server, "application/x-protobuf", &[("content-encoding", "gzip")], b"not gzip".to_vec()).await;
    let status = protobuf_error(response, 400).await;
    assert!(status.message.contains("gzip"), "{}", status.message);
    let response = post(&server, "application/x-protobuf", &[("content-encoding", "zstd")], vec![1]).await;
    assert!(protobuf_error(response, 400).await.message.contains("\"zstd\""));
}

#[tokio::test]
async fn a_bad_content_type_is_a_400_naming_it() {
    let server = start(ServerConfig::default()).await;
    let response = post(&server, "text/plain", &[], two_span_request(3)).await;
    assert_eq!(response.status(), 400);
    let body = json_body(response).await;
    assert_eq!(body["error_code"], "INVALID_PARAMETER_VALUE");
    assert_eq!(body["code"], 3, "google.rpc.Status code INVALID_ARGUMENT");
    assert!(body["message"].as_str().unwrap().contains("\"text/plain\""), "{body}");
    let response = server.client.post(&server.url).body(two_span_request(3)).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(server.state.store.get_trace(&trace_id(3)).await.unwrap().is_none());
}

#[tokio::test]
async fn corrupt_and_empty_bodies_are_400s_that_say_why() {
    let server = start(ServerConfig::default()).await;
    let response = post(&server, "application/x-protobuf", &[], vec![0x0a, 0xff, 0xff, 0x01]).await;
    let status = protobuf_error(response, 400).await;
    assert_eq!(status.code, 3);
    assert!(status.message.contains("invalid OTLP protobuf body"), "{}", status.message);

    let response = post(&server, "application/x-protobuf", &[], Vec::new()).await;
    assert!(protobuf_error(response, 400).await.message.contains("no resource_spans"));

    let no_spans = opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest {
        resource_spans: vec![Default::default()],
    };
    let response = post(&server, "application/x-protobuf", &[], no_spans.encode_to_vec()).await;
    assert!(protobuf_error(response, 400).await.message.contains("no spans"));

    let response = post(&server, "application/json", &[], b"{\"resourceSpans\": 3}".to_vec()).await;
    assert_eq!(response.status(), 400);
    let body = json_body(response).await;
    assert!(body["message"].as_str().unwrap().contains("invalid OTLP/JSON body"), "{body}");
}

#[tokio::test]
async fn a_span_that_cannot_be_converted_is_a_422_naming_it_and_nothing_is_stored() {
    let server = start(ServerConfig::default()).await;
    let mut bad = otlp_span(4, 2, Some(1), "bad-span", vec![]);
    bad.span_id = vec![1, 2, 3];
    let body = request(vec![otlp_span(4, 1, None, "good", vec![]), bad]).encode_to_vec();
    let response = post(&server, "application/x-protobuf", &[], body).await;
    let status = protobuf_error(response, 422).await;
    assert!(status.message.contains("spans[1]") && status.message.contains("\"bad-span\""), "{}", status.message);
    assert!(server.state.store.get_trace(&trace_id(4)).await.unwrap().is_none(), "all or nothing");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_even_when_compressed_small() {
    let config = ServerConfig { max_request_bytes: 64 * 1024, ..ServerConfig::default() };
    let server = start(config).await;
    let big = vec![kv("blob", string(&"x".repeat(100 * 1024)))];
    let body = request(vec![otlp_span(5, 1, None, "big", big)]).encode_to_vec();
    let response = post(&server, "application/x-protobuf", &[], body.clone()).await;
    assert_eq!(response.status(), 413);

    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&body).unwrap();
    let small = gz.finish().unwrap();
    assert!(small.len() < 64 * 1024);
    let response = post(&server, "application/x-protobuf", &[("content-encoding", "gzip")], small).await;
    let status = protobuf_error(response, 413).await;
    assert!(status.message.contains("65536 bytes"), "{}", status.message);
    assert!(server.state.store.get_trace(&trace_id(5)).await.unwrap().is_none());
}

#[tokio::test]
async fn the_experiment_header_chooses_the_experiment() {
    let server = start(ServerConfig::default()).await;
    let experiment = server.state.store.create_experiment("otlp", None).await.unwrap();
    let response =
        post(&server, "application/x-protobuf", &[("x-mlflow-experiment-id", &experiment)], two_span_request(6)).await;
    assert_eq!(response.status(), 200);
    let trace = server.state.store.get_trace(&trace_id(6)).await.unwrap().unwrap();
    assert_eq!(trace.info.experiment_id(), Some(experiment.as_str()));

    let response =
        post(&server, "application/x-protobuf", &[("x-mlflow-experiment-id", "424242")], two_span_request(7)).await;
    let status = protobuf_error(response, 404).await;
    assert!(status.message.contains("424242"), "{}", status.message);
}

#[tokio::test]
async fn foreign_spans_are_stored_with_mlflow_types_inputs_outputs_and_usage() {
    let server = start(ServerConfig::default()).await;
    let genai = otlp_span(8, 1, None, "chat gpt-4o", vec![
        kv("gen_ai.operation.name", string("chat")),
        kv("gen_ai.request.model", string("gpt-4o")),
        kv("gen_ai.provider.name", string("openai")),
        kv("gen_ai.input.messages", string(r#"[{"role": "user", "content": "Hi"}]"#)),
        kv("gen_ai.output.messages", string(r#"[{"role": "assistant", "content": "Hello"}]"#)),
        kv("gen_ai.usage.input_tokens", int(12)),
        kv("gen_ai.usage.output_tokens", int(3)),
    ]);
    let openinference = otlp_span(8, 2, Some(1), "retrieve", vec![
        kv("openinference.span.kind", string("RETRIEVER")),
        kv("input.value", string("what is clew")),
        kv("output.value", string(r#"{"documents": ["a"]}"#)),
    ]);
    let traceloop = otlp_span(8, 3, Some(1), "openai.chat", vec![
        kv("gen_ai.system", string("OpenAI")),
        kv("gen_ai.request.model", string("gpt-3.5-turbo")),
        kv("gen_ai.prompt.0.content", string("Tell me a joke")),
        kv("gen_ai.completion.0.content", string("No.")),
        kv("gen_ai.usage.prompt_tokens", int(5)),
        kv("gen_ai.usage.completion_tokens", string("2")),
    ]);
    let body = request(vec![genai, openinference, traceloop]).encode_to_vec();
    assert_eq!(post(&server, "application/x-protobuf", &[], body).await.status(), 200);

    let trace = server.state.store.get_trace(&trace_id(8)).await.unwrap().unwrap();
    let span = |name: &str| trace.data.spans.iter().find(|s| s.name == name).unwrap().clone();
    let chat = span("chat gpt-4o");
    assert_eq!(chat.span_type(), Some(SpanType::ChatModel));
    assert_eq!(chat.inputs(), Some(json!([{"role": "user", "content": "Hi"}])));
    assert_eq!(chat.outputs(), Some(json!([{"role": "assistant", "content": "Hello"}])));
    assert_eq!(chat.get_attribute("mlflow.chat.tokenUsage"), Some(json!({"input_tokens": 12, "output_tokens": 3, "total_tokens": 15})));
    assert_eq!(chat.model_name().as_deref(), Some("gpt-4o"));
    assert_eq!(chat.get_attribute("mlflow.llm.provider"), Some(json!("openai")));
    assert_eq!(chat.get_attribute("gen_ai.operation.name"), Some(json!("chat")), "raw attributes are kept");

    let retrieve = span("retrieve");
    assert_eq!(retrieve.span_type(), Some(SpanType::Retriever));
    assert_eq!(retrieve.inputs(), Some(json!("what is clew")));
    assert_eq!(retrieve.outputs(), Some(json!({"documents": ["a"]})));

    let joke = span("openai.chat");
    assert_eq!(joke.span_type(), Some(SpanType::Llm));
    assert_eq!(joke.inputs(), Some(json!("Tell me a joke")));
    assert_eq!(joke.outputs(), Some(json!("No.")));
    assert_eq!(joke.get_attribute("mlflow.chat.tokenUsage"), Some(json!({"input_tokens": 5, "output_tokens": 2, "total_tokens": 7})));
    assert_eq!(joke.get_attribute("mlflow.llm.provider"), Some(json!("OpenAI")));

    // The trace row sums the translated usage, as MLflow's log_spans does.
    let info = server.state.store.get_trace_info(&trace_id(8)).await.unwrap().unwrap();
    let usage = info.token_usage().expect("trace token usage");
    assert_eq!(usage["input_tokens"], 17);
    assert_eq!(usage["output_tokens"], 5);
}

#[tokio::test]
async fn genai_message_events_become_inputs_and_outputs() {
    use opentelemetry_proto::tonic::trace::v1::span::Event;
    let server = start(ServerConfig::default()).await;
    let mut span = otlp_span(9, 1, None, "chat", vec![kv("gen_ai.operation.name", string("chat"))]);
    let event = |name: &str, attributes| Event { time_unix_nano: START_NS, name: name.into(), attributes, dropped_attributes_count: 0 };
    span.events = vec![
        event("gen_ai.system.message", vec![kv("content", string("Be brief"))]),
        event("gen_ai.user.message", vec![kv("content", string("Hi"))]),
        event("gen_ai.choice", vec![kv("index", int(0)), kv("content", string("Hello"))]),
    ];
    assert_eq!(post(&server, "application/x-protobuf", &[], request(vec![span]).encode_to_vec()).await.status(), 200);
    let trace = server.state.store.get_trace(&trace_id(9)).await.unwrap().unwrap();
    let span = &trace.data.spans[0];
    assert_eq!(span.inputs(), Some(json!([{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}])));
    assert_eq!(span.outputs(), Some(json!([{"role": "assistant", "content": "Hello"}])));
    assert_eq!(span.events.len(), 3, "events are kept");
}

#[tokio::test]
async fn service_name_of_a_known_agent_cli_is_copied_onto_root_spans() {
    let server = start(ServerConfig::default()).await;
    let spans = vec![otlp_span(13, 1, None, "claude_code.interaction", vec![]), otlp_span(13, 2, Some(1), "tool", vec![])];
    let body = request_with_resource(vec![kv("service.name", string("claude-code"))], spans).encode_to_vec();
    assert_eq!(post(&server, "application/x-protobuf", &[], body).await.status(), 200);
    let trace = server.state.store.get_trace(&trace_id(13)).await.unwrap().unwrap();
    assert_eq!(trace.data.root().unwrap().get_attribute("service.name"), Some(json!("claude-code")));
    let child = trace.data.spans.iter().find(|s| s.name == "tool").unwrap();
    assert_eq!(child.get_attribute("service.name"), None);

    // Any other service name stays out (free-form text from untrusted clients).
    assert_eq!(post(&server, "application/x-protobuf", &[], two_span_request(14)).await.status(), 200);
    let trace = server.state.store.get_trace(&trace_id(14)).await.unwrap().unwrap();
    assert_eq!(trace.data.root().unwrap().get_attribute("service.name"), None);
}

#[tokio::test]
async fn the_run_header_links_completed_traces_to_the_run() {
    let server = start(ServerConfig::default()).await;
    let response = post(&server, "application/x-protobuf", &[("x-mlflow-run-id", "run-otlp")], two_span_request(15)).await;
    assert_eq!(response.status(), 200);
    assert_eq!(post(&server, "application/x-protobuf", &[], two_span_request(16)).await.status(), 200);
    let request = clew_store::SearchTracesRequest {
        experiment_ids: vec!["0".into()],
        filter: Some("run_id = 'run-otlp'".into()),
        ..Default::default()
    };
    let page = server.state.store.search_traces(&request).await.unwrap();
    let ids: Vec<&str> = page.traces.iter().map(|t| t.trace_id.as_str()).collect();
    assert_eq!(ids, [trace_id(15)]);
}

#[tokio::test]
async fn re_sending_a_batch_changes_nothing() {
    let server = start(ServerConfig::default()).await;
    for _ in 0..3 {
        assert_eq!(post(&server, "application/x-protobuf", &[], two_span_request(17)).await.status(), 200);
    }
    let trace = server.state.store.get_trace(&trace_id(17)).await.unwrap().unwrap();
    assert_eq!(trace.data.spans.len(), 2);
    let page = server.state.store.search_traces(&clew_store::SearchTracesRequest::default()).await.unwrap();
    assert_eq!(page.traces.len(), 1);
}

#[tokio::test]
async fn a_full_ingest_queue_answers_429_with_retry_after_and_loses_nothing_it_accepted() {
    let config = ServerConfig { max_pending_spans: 2, ..ServerConfig::default() };
    let server = start(config).await;
    let sends = (0..40u128).map(|n| {
        let server = &server;
        async move { (n, post(server, "application/x-protobuf", &[], two_span_request(100 + n)).await) }
    });
    let answers = futures_join_all(sends).await;
    let mut refused = 0;
    for (n, response) in answers {
        match response.status().as_u16() {
            200 => assert!(server.state.store.get_trace(&trace_id(100 + n)).await.unwrap().is_some(), "a 200 is committed"),
            429 => {
                refused += 1;
                assert_eq!(response.headers()["retry-after"], "1");
                let status = protobuf_error(response, 429).await;
                assert_eq!(status.code, 8, "RESOURCE_EXHAUSTED");
                assert!(status.message.contains("max-pending-spans"), "{}", status.message);
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(refused > 0, "40 concurrent batches against a queue of 2 spans: some must be refused");
}

/// `futures::future::join_all` without the dependency: spawn-free concurrent polling.
async fn futures_join_all<F: std::future::Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in futures {
        set.push(Box::pin(f));
    }
    let mut outputs: Vec<Option<F::Output>> = (0..set.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in set.iter_mut().enumerate() {
            if outputs[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => outputs[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("every future finished")).collect()
}

#[tokio::test]
async fn garbage_bodies_are_client_errors_never_server_errors() {
    let server = start(ServerConfig::default()).await;
    let mut seed: u64 = 0x9e3779b97f4a7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let valid = two_span_request(18);
    for round in 0..60 {
        let body: Vec<u8> = match round % 3 {
            0 => (0..(next() % 200)).map(|_| next() as u8).collect(),
            // A valid request with a few bytes flipped.
            1 => {
                let mut b = valid.clone();
                for _ in 0..3 {
                    let i = (next() as usize) % b.len();
                    b[i] ^= next() as u8;
                }
                b
            }
            _ => valid[..(next() as usize) % valid.len()].to_vec(),
        };
        for content_type in ["application/x-protobuf", "application/json"] {
            let response = post(&server, content_type, &[], body.clone()).await;
            let status = response.status().as_u16();
            assert!(status == 200 || (400..500).contains(&status), "round {round} {content_type}: {status}");
        }
    }
}
