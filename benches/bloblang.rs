//! Criterion benches for Bloblang: parsing/compiling mappings, and executing representative
//! mappings over an inference request (the same five programs the peer comparison uses).

use criterion::{criterion_group, criterion_main, Criterion};
use engine::bloblang::parse_mapping;
use engine::message::{Message, Value};

const DOC: &str = r#"{"request_id":"req-000042","user_id":"user-17","model":"llama-3-70b-instruct","prompt":"Summarise the following text in three sentences: the quick brown fox jumps over the lazy dog while the cat watches from the windowsill, wondering why anyone would bother.","max_tokens":256,"params":{"temperature":0.7,"top_p":0.9},"tags":["summarise","en","batch","prio"],"created_at":"2026-11-26T05:00:00Z"}"#;

const PROGRAMS: &[(&str, &str)] = &[
    ("identity", "root = this"),
    ("enrich", "root = this\nroot.estimated_tokens = (this.prompt.length() / 4).ceil()\nroot.status = \"queued\""),
    ("reshape", "root.id = this.request_id\nroot.user = this.user_id\nroot.model = this.model\nroot.input = this.prompt\nroot.max_new_tokens = this.max_tokens\nroot.temperature = this.params.temperature\nroot.top_p = this.params.top_p\nroot.received_at = this.created_at"),
    ("tier", "root.request_id = this.request_id\nroot.model = this.model\nroot.tier = match this.model {\n  this.contains(\"70b\") || this.contains(\"72b\") || this.has_prefix(\"mixtral\") => \"premium\"\n  this.has_prefix(\"llama\") || this.has_prefix(\"mistral\") || this.has_prefix(\"gemma\") => \"standard\"\n  _ => \"economy\"\n}"),
    ("tags", "let tags = this.tags.map_each(t -> t.uppercase()).filter(t -> t.length() > 3)\nroot.request_id = this.request_id\nroot.tags = $tags\nroot.tag_count = $tags.length()"),
];

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, src) in PROGRAMS {
        g.bench_function(*name, |b| b.iter(|| parse_mapping(src).map(|_| ())));
    }
    g.finish();
}

fn execute(c: &mut Criterion) {
    let doc = Value::from_json_str(DOC).unwrap_or_default();
    let mut g = c.benchmark_group("execute");
    for (name, src) in PROGRAMS {
        let Ok(m) = parse_mapping(src) else { continue };
        g.bench_function(*name, |b| b.iter(|| m.query_value(&doc)));
    }
    g.finish();
}

/// Parse the payload, run the mapping, serialise: what `engine blobl` does per line.
fn end_to_end(c: &mut Criterion) {
    let mut g = c.benchmark_group("message");
    for (name, src) in PROGRAMS {
        let Ok(m) = parse_mapping(src) else { continue };
        g.bench_function(*name, |b| {
            b.iter(|| {
                let batch = [Message::from_bytes(DOC)];
                m.map_message(&batch, 0)
                    .map(|r| r.map(|out| out.bytes().len()))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parse, execute, end_to_end);
criterion_main!(benches);
