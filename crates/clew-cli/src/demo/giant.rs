//! `clew demo --giant N`: one trace of N spans, for the web UI's giant-trace benchmark
//! (`bench/ui_first_rows.mjs`) and for trying the trace view on something big.
//!
//! The shape imitates a long agent run: a root AGENT span with a sequence of steps; a step
//! (CHAIN) plans with a CHAT_MODEL call, then runs tools, retrievals (EMBEDDING + RETRIEVER)
//! or a sub-agent that nests the same pattern deeper; some steps fan out in parallel. Depth
//! reaches about 10 and fan-out varies from 1 to a few dozen. Times are consistent (children
//! inside their parent, sequential siblings one after another, parallel ones overlapping).
//!
//! It writes straight through clew-store (`write_traces`, in batches of spans) rather than
//! the SDK: a 100,000-span trace is written in seconds. Deterministic for a given N.

use anyhow::Context as _;
use clew_model::{keys, Span, SpanId, SpanStatus, TraceId};
use clew_store::{SqliteStore, TraceStore};
use serde_json::{json, Value};

/// Spans written per `log_spans` call: big enough for throughput, small enough to keep one
/// transaction's memory modest.
const BATCH: usize = 20_000;
/// Deepest nesting level (the root is 0).
const MAX_DEPTH: usize = 10;

/// What the generator decided for one span before times are assigned.
struct Node {
    parent: Option<usize>,
    depth: usize,
    name: String,
    kind: &'static str,
    children: Vec<usize>,
    parallel: bool,
    /// Own work in ms (leaves) or overhead (containers).
    work_ms: i64,
    error: bool,
}

/// Deterministic xorshift64*.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

const TOOLS: [&str; 8] = [
    "search_web",
    "read_file",
    "run_sql",
    "call_api",
    "get_weather",
    "send_email",
    "list_directory",
    "python_exec",
];

/// Plans the tree: `n` nodes, node 0 the root.
fn plan(n: usize, rng: &mut Rng) -> Vec<Node> {
    let mut nodes = vec![Node {
        parent: None,
        depth: 0,
        name: "giant_agent_run".into(),
        kind: "AGENT",
        children: vec![],
        parallel: false,
        work_ms: 5,
        error: false,
    }];
    // Containers that can still take children, innermost last (a stack: fill deep first,
    // then unwind, which gives both depth and long sibling lists).
    let mut open: Vec<usize> = vec![0];
    let mut step = 0usize;
    while nodes.len() < n {
        let Some(&parent) = open.last() else {
            open.push(0);
            continue;
        };
        let depth = nodes[parent].depth + 1;
        let full = nodes[parent].children.len()
            >= if parent == 0 {
                usize::MAX
            } else {
                4 + rng.below(24) as usize
            };
        if parent != 0 && (full || rng.chance(12)) {
            open.pop();
            continue;
        }
        let remaining = n - nodes.len();
        let (name, kind, container) = if nodes[parent].kind == "AGENT" {
            step += 1;
            (format!("step_{step}"), "CHAIN", true)
        } else if depth < MAX_DEPTH && remaining > 40 && rng.chance(3) {
            ("map_chunks".to_string(), "CHAIN", true)
        } else if depth < MAX_DEPTH && remaining > 8 && rng.chance(9) {
            ("sub_agent".to_string(), "AGENT", true)
        } else if depth < MAX_DEPTH && remaining > 4 && rng.chance(6) {
            ("retrieve".to_string(), "CHAIN", true)
        } else {
            match rng.below(10) {
                0..=3 => (
                    TOOLS[rng.below(TOOLS.len() as u64) as usize].to_string(),
                    "TOOL",
                    false,
                ),
                4..=6 => ("chat_completion".to_string(), "CHAT_MODEL", false),
                7 => ("parse_output".to_string(), "PARSER", false),
                8 => ("rerank".to_string(), "RERANKER", false),
                _ => ("format_prompt".to_string(), "UNKNOWN", false),
            }
        };
        let index = nodes.len();
        let parallel = name == "map_chunks" || (container && rng.chance(25));
        let work_ms = match kind {
            "CHAT_MODEL" => 200 + rng.below(1800) as i64,
            "TOOL" => 10 + rng.below(400) as i64,
            _ => 1 + rng.below(20) as i64,
        };
        let error = kind == "TOOL" && rng.chance(2);
        nodes.push(Node {
            parent: Some(parent),
            depth,
            name,
            kind,
            children: vec![],
            parallel,
            work_ms,
            error,
        });
        nodes[parent].children.push(index);
        if container {
            // A retrieval is embed + search; other containers fill from the loop.
            if nodes[index].name == "map_chunks" {
                // A map over document chunks: one wide, parallel fan-out of LLM calls.
                let width = (20 + rng.below(100) as usize).min(n - nodes.len());
                for chunk in 0..width {
                    let child = nodes.len();
                    nodes.push(Node {
                        parent: Some(index),
                        depth: depth + 1,
                        name: format!("summarize_chunk_{chunk}"),
                        kind: "LLM",
                        children: vec![],
                        parallel: false,
                        work_ms: 300 + rng.below(900) as i64,
                        error: false,
                    });
                    nodes[index].children.push(child);
                }
            } else if name_is_retrieve(&nodes[index].name) && nodes.len() + 2 <= n {
                for (child_name, child_kind, ms) in [
                    ("embed_query", "EMBEDDING", 40),
                    ("vector_search", "RETRIEVER", 80),
                ] {
                    let child = nodes.len();
                    nodes.push(Node {
                        parent: Some(index),
                        depth: depth + 1,
                        name: child_name.into(),
                        kind: child_kind,
                        children: vec![],
                        parallel: false,
                        work_ms: ms + rng.below(60) as i64,
                        error: false,
                    });
                    nodes[index].children.push(child);
                }
            } else if depth < MAX_DEPTH {
                open.push(index);
            }
        }
    }
    nodes
}

fn name_is_retrieve(name: &str) -> bool {
    name == "retrieve"
}

/// Assigns start and end times (ms offsets from the trace start), children inside parents.
fn schedule(nodes: &[Node]) -> Vec<(i64, i64)> {
    let mut times = vec![(0i64, 0i64); nodes.len()];
    // Post-order durations: a leaf's own work; a container's overhead plus its children run
    // one after another (or side by side when parallel).
    let mut duration = vec![0i64; nodes.len()];
    for index in (0..nodes.len()).rev() {
        let node = &nodes[index];
        let inner = if node.parallel {
            node.children
                .iter()
                .map(|&c| duration[c])
                .max()
                .unwrap_or(0)
        } else {
            node.children.iter().map(|&c| duration[c] + 1).sum()
        };
        duration[index] = node.work_ms + inner;
    }
    // Pre-order starts (children always have larger indexes than their parent).
    for index in 0..nodes.len() {
        let start = times[index].0;
        times[index].1 = start + duration[index];
        let mut cursor = start + (nodes[index].work_ms / 2).max(1);
        for &child in &nodes[index].children {
            times[child].0 = cursor;
            if !nodes[index].parallel {
                cursor += duration[child] + 1;
            }
        }
    }
    times
}

/// Writes a trace of `n` spans into `experiment_id` and returns its id.
pub fn write(store: &SqliteStore, experiment_id: &str, n: usize) -> anyhow::Result<String> {
    let mut rng = Rng(0x51ce_u64 ^ (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let nodes = plan(n, &mut rng);
    let times = schedule(&nodes);
    let trace_id = TraceId::from_u128(0x6a1a_0000_0000_0000_0000_0000_0000_0000 | n as u128);
    let request_id = trace_id.to_mlflow();
    let ms = 1_000_000i64;
    // The run ended a minute ago.
    let start_ns = clew_model::event::now_ns() - (times[0].1 + 60_000) * ms;
    let span_id = |index: usize| SpanId::from_u64(0x1000_0000_0000_0000 | index as u64);
    let spans: Vec<Span> = nodes
        .iter()
        .enumerate()
        .map(|(index, node)| {
            let mut attributes = clew_model::span::Attributes::new();
            let mut put = |key: &str, value: Value| {
                attributes.insert(key.to_string(), value.to_string());
            };
            put(keys::TRACE_REQUEST_ID, json!(request_id));
            put(keys::SPAN_TYPE, json!(node.kind));
            let (inputs, outputs) = payload(index, node);
            put(keys::SPAN_INPUTS, inputs);
            put(keys::SPAN_OUTPUTS, outputs);
            if node.kind == "CHAT_MODEL" {
                put(keys::LLM_MODEL, json!("gpt-4o-mini"));
                let (i, o) = (300 + (index as i64 * 37) % 900, 20 + (index as i64 * 13) % 300);
                put(keys::CHAT_TOKEN_USAGE, json!({"input_tokens": i, "output_tokens": o, "total_tokens": i + o}));
            }
            let (from, to) = times[index];
            let mut span = Span {
                trace_id,
                span_id: span_id(index),
                parent_id: node.parent.map(span_id),
                name: node.name.clone(),
                start_time_ns: start_ns + from * ms,
                end_time_ns: Some(start_ns + to * ms),
                status: SpanStatus::ok(),
                attributes,
                events: vec![],
                links: vec![],
            };
            if node.error {
                span.status = SpanStatus::error("TimeoutError: the tool did not answer within 30 s");
                span.events.push(clew_model::SpanEvent::exception(
                    "TimeoutError",
                    "the tool did not answer within 30 s",
                    "TimeoutError: the tool did not answer within 30 s\n  at call_tool (agent/tools.py:88)",
                ));
            }
            span
        })
        .collect();

    crate::runtime::block_on(async {
        // Children first, root last: the trace stays IN_PROGRESS until the root arrives, as
        // with a real exporter; the store derives the summary (state, times, span count).
        let mut batches: Vec<Vec<Span>> = Vec::new();
        let mut rest = spans;
        let root = rest.remove(0);
        while !rest.is_empty() {
            let tail = rest.split_off(rest.len().min(BATCH));
            batches.push(std::mem::replace(&mut rest, tail));
        }
        batches.push(vec![root]);
        for batch in batches {
            store.log_spans(experiment_id, batch).await?;
        }
        for (key, value) in [
            ("demo.scenario", "giant".to_string()),
            ("demo.giant.spans", n.to_string()),
        ] {
            store.set_trace_tag(&request_id, key, &value).await?;
        }
        Ok::<(), clew_store::StoreError>(())
    })?
    .with_context(|| format!("cannot write the giant trace {request_id}"))?;
    Ok(request_id)
}

/// Small, varied inputs and outputs (a giant trace is about its shape, not its payloads).
fn payload(index: usize, node: &Node) -> (Value, Value) {
    match node.kind {
        "CHAT_MODEL" => (
            json!({"model": "gpt-4o-mini", "messages": [
                {"role": "system", "content": "You are a careful agent."},
                {"role": "user", "content": format!("Decide the next action for sub-task {index}.")},
            ]}),
            json!({"choices": [{"index": 0, "message": {"role": "assistant", "content": format!("Next: run a tool for sub-task {index}.")}, "finish_reason": "stop"}]}),
        ),
        "LLM" => (
            json!({"prompt": format!("Summarise document chunk {index} in one sentence.")}),
            json!(format!("Chunk {index} describes one step of the task.")),
        ),
        "TOOL" => (
            json!({"tool": node.name, "args": {"id": index}}),
            json!({"ok": !node.error, "rows": index % 17}),
        ),
        "RETRIEVER" => (
            json!({"query": format!("context for {index}"), "top_k": 2}),
            json!([{"page_content": format!("Document {index} about the task."), "metadata": {"doc_uri": format!("kb/{}.md", index % 211), "score": 0.8}}]),
        ),
        _ => (
            json!({"step": index, "depth": node.depth}),
            json!({"done": true}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_has_the_requested_size_depth_and_fan_out() {
        for n in [1usize, 2, 10, 1_000, 10_000] {
            let nodes = plan(n, &mut Rng(7));
            assert_eq!(nodes.len(), n);
            assert!(nodes.iter().skip(1).all(|node| node
                .parent
                .is_some_and(|p| nodes[p].depth + 1 == node.depth)));
            if n >= 1_000 {
                let depth = nodes.iter().map(|n| n.depth).max().unwrap();
                assert!((5..=MAX_DEPTH + 1).contains(&depth), "depth {depth}");
                let fan_out = nodes.iter().map(|n| n.children.len()).max().unwrap();
                assert!(fan_out >= 20, "fan-out {fan_out}");
                let kinds: std::collections::BTreeSet<_> = nodes.iter().map(|n| n.kind).collect();
                assert!(kinds.len() >= 7, "{kinds:?}");
            }
        }
    }

    #[test]
    fn children_run_inside_their_parent() {
        let nodes = plan(5_000, &mut Rng(11));
        let times = schedule(&nodes);
        for (index, node) in nodes.iter().enumerate() {
            let (from, to) = times[index];
            assert!(from <= to);
            if let Some(parent) = node.parent {
                let (pf, pt) = times[parent];
                assert!(
                    pf <= from && to <= pt,
                    "span {index} [{from},{to}] outside its parent [{pf},{pt}]"
                );
            }
        }
    }
}
