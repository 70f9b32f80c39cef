//! Bloblang interpreter micro-benchmarks: compile once, run per message.

use criterion::{criterion_group, criterion_main, Criterion};
use engine::bloblang::parse_mapping;
use engine::message::Message;

const DOC: &str = r#"{"id":42,"user":{"name":"alice","email":"a@example.com","age":31},"tags":["a","b","c"],"prompt":"hello world hello world","score":12.5}"#;

fn bench(c: &mut Criterion) {
    let mapping = parse_mapping(
        r#"root.id = this.id
root.name = this.user.name
root.adult = this.user.age >= 18
root.tags = this.tags.map_each(t -> t + "!")
root.score = this.score * 2
root.kind = match { this.user.age < 30 => "young", _ => "old" }
meta seen = "yes""#,
    )
    .expect("benchmark mapping parses");
    c.bench_function("map_message/typical", |b| {
        b.iter(|| {
            let msg = Message::from_bytes(DOC);
            let out = mapping.map_message(std::slice::from_ref(&msg), 0);
            std::hint::black_box(out.ok().flatten().map(|m| m.bytes().len()))
        })
    });
    let identity = parse_mapping("root = this").expect("parses");
    c.bench_function("map_message/identity", |b| {
        b.iter(|| {
            let msg = Message::from_bytes(DOC);
            let out = identity.map_message(std::slice::from_ref(&msg), 0);
            std::hint::black_box(out.ok().flatten().map(|m| m.bytes().len()))
        })
    });
    c.bench_function("parse_mapping", |b| {
        b.iter(|| {
            std::hint::black_box(parse_mapping(
                "root.foo = this.foo.not_null()\nroot.bar = this.bar + 1\nroot.baz = this.baz.filter(x -> x > 2)",
            ).is_ok())
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
