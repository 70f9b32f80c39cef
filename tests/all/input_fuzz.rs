//! Fuzzing that runs in CI: random documents to the Bloblang parsers, random raw HTTP requests
//! (methods, paths, headers, bodies, truncated and slow clients) to `http_server`, and random
//! AMQP properties and headers to the `amqp_0_9` input. None may panic, abort the process or
//! make it stop answering. Case counts are modest by default; `FUZZ_CASES` raises them.

use std::time::Duration;

use engine::message::Message;
use proptest::prelude::*;
use rand::{Rng, RngCore, SeedableRng};

use crate::support::{free_port, spawn_engine, temp_config, wait_for_status};

fn cases(default: u32) -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const PARSERS: &[&str] = &[
    "parse_xml()",
    "parse_xml(cast: true)",
    "parse_json()",
    "parse_yaml()",
    "parse_csv()",
    "parse_msgpack()",
    "parse_form_url_encoded()",
    "parse_url()",
];

fn parse_all(input: &[u8]) {
    for p in PARSERS {
        let mapping = engine::bloblang::parse_mapping(&format!("root = content().{p}"))
            .unwrap_or_else(|e| panic!("{p}: {e}"));
        let batch = [Message::from_bytes(input.to_vec())];
        // Serialising the result walks all of it, as an output would.
        if let Ok(Some(m)) = mapping.map_message(&batch, 0) {
            let _ = m.bytes();
        }
    }
}

/// Documents shaped like what the parsers expect, nested and broken at random.
fn shaped() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("<a>".to_owned()),
        Just("</a>".to_owned()),
        Just("<b x=\"1\"/>".to_owned()),
        Just("<![CDATA[c]]>".to_owned()),
        Just("&amp;".to_owned()),
        Just("&#xFFFFFF;".to_owned()),
        Just("{\"k\": ".to_owned()),
        Just("[1, ".to_owned()),
        Just("}".to_owned()),
        Just("]".to_owned()),
        Just("\"s\\u12".to_owned()),
        Just("- ".to_owned()),
        Just("k: ".to_owned()),
        Just("&x ".to_owned()),
        Just("*x ".to_owned()),
        Just("!!binary ".to_owned()),
        Just("a,\"b\"\"c\",".to_owned()),
        Just("\n".to_owned()),
        Just("\u{0}".to_owned()),
        "[a-z0-9 ]{0,6}",
    ];
    proptest::collection::vec(atom, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1500), ..ProptestConfig::default() })]

    #[test]
    fn parsers_take_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        parse_all(&bytes);
    }

    #[test]
    fn parsers_take_shaped_documents(doc in shaped()) {
        parse_all(doc.as_bytes());
    }
}

#[test]
fn parsers_take_deep_nesting() {
    for n in [100, 2_000, 50_000] {
        parse_all(("<a>".repeat(n) + &"</a>".repeat(n)).as_bytes());
        parse_all(("[".repeat(n) + &"]".repeat(n)).as_bytes());
        parse_all(("- ".repeat(n) + "x").as_bytes());
        parse_all(&vec![0x91; n]); // msgpack: arrays of one, nested
    }
}

/// One raw request of random shape: a method, a path, headers and a body, each sometimes
/// malformed, oversized or cut short.
fn random_request(rng: &mut impl Rng) -> (Vec<u8>, bool) {
    let methods = [
        "POST", "GET", "PUT", "DELETE", "OPTIONS", "HEAD", "PATCH", "CONNECT", "BREW",
    ];
    let mut req = Vec::new();
    let method = if rng.random_bool(0.05) {
        let mut m = vec![0u8; rng.random_range(0..12)];
        rng.fill_bytes(&mut m);
        m
    } else {
        methods[rng.random_range(0..methods.len())]
            .as_bytes()
            .to_vec()
    };
    req.extend(method);
    req.push(b' ');
    let path: Vec<u8> = match rng.random_range(0..6) {
        0 => b"/post".to_vec(),
        1 => b"/post?a=1&b=%zz&&c".to_vec(),
        2 => format!("/post/{}", "x".repeat(rng.random_range(0..5000))).into_bytes(),
        3 => b"/%2e%2e/%00/post".to_vec(),
        4 => {
            let mut p = vec![b'/'; 1];
            let mut junk = vec![0u8; rng.random_range(0..64)];
            rng.fill_bytes(&mut junk);
            p.extend(junk);
            p
        }
        _ => b"*".to_vec(),
    };
    req.extend(path);
    req.extend(if rng.random_bool(0.9) {
        &b" HTTP/1.1\r\n"[..]
    } else {
        &b" HTTP/9.9\r\n"[..]
    });
    req.extend(b"Host: fuzz\r\n");
    let body_len = rng.random_range(0..4000);
    let mut body = vec![0u8; body_len];
    rng.fill_bytes(&mut body);
    for _ in 0..rng.random_range(0..12) {
        let header: Vec<u8> = match rng.random_range(0..8) {
            0 => format!("Content-Length: {}\r\n", rng.random_range(0..10_000)).into_bytes(),
            1 => b"Transfer-Encoding: chunked\r\n".to_vec(),
            2 => format!("X-Long: {}\r\n", "v".repeat(rng.random_range(0..20_000))).into_bytes(),
            3 => format!("{}: x\r\n", "n".repeat(rng.random_range(1..400))).into_bytes(),
            4 => b"Authorization: Bearer \xff\xfe\r\n".to_vec(),
            5 => b"Origin: http://evil\r\n".to_vec(),
            6 => b"Content-Type: multipart/form-data; boundary=\r\n".to_vec(),
            _ => {
                let mut h = b"X-Junk: ".to_vec();
                let mut v = vec![0u8; rng.random_range(0..40)];
                rng.fill_bytes(&mut v);
                h.extend(v.into_iter().filter(|b| *b != b'\r' && *b != b'\n'));
                h.extend(b"\r\n");
                h
            }
        };
        req.extend(header);
    }
    if rng.random_bool(0.7) {
        req.extend(format!("Content-Length: {body_len}\r\n").into_bytes());
    }
    req.extend(b"\r\n");
    req.extend(body);
    let truncate = rng.random_bool(0.2);
    if truncate {
        let keep = rng.random_range(0..req.len().max(1));
        req.truncate(keep);
    }
    (req, truncate)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_server_takes_random_requests() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    engine::http::install_tls_provider();
    let (port, api) = (free_port(), free_port());
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{api}\ninput:\n  http_server:\n    address: 127.0.0.1:{port}\n    path: /post\n    allowed_verbs: [ POST, GET, PUT ]\n    timeout: 2s\n    max_body_size: 100000\n    cors:\n      enabled: true\n      allowed_origins: [ '*' ]\npipeline:\n  processors:\n    - mapping: |\n        root.meta = @\n        root.parsed = content().parse_json().catch(content().string())\noutput:\n  sync_response: {{}}\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let ping = format!("http://127.0.0.1:{api}/ping");
    assert_eq!(wait_for_status(&ping, 200).await.0, 200);
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let n = cases(400);
    let mut answered = 0;
    for i in 0..n {
        let (req, truncated) = random_request(&mut rng);
        let Ok(mut s) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await else {
            panic!("request {i}: the server stopped accepting");
        };
        // Some clients dribble their request in small pieces.
        if i % 10 == 0 {
            for chunk in req.chunks(7) {
                let _ = s.write_all(chunk).await;
            }
        } else {
            let _ = s.write_all(&req).await;
        }
        if truncated {
            let _ = s.shutdown().await;
        }
        let mut resp = Vec::new();
        // A request that promised more body than it sent waits for it: give up on the answer.
        let _ = tokio::time::timeout(Duration::from_millis(700), s.read_to_end(&mut resp)).await;
        if resp.starts_with(b"HTTP/1.1 ") {
            answered += 1;
        }
    }
    // Still serving, still in one piece, and not holding on to what it was sent.
    assert_eq!(wait_for_status(&ping, 200).await.0, 200);
    assert!(
        child.try_wait().ok().flatten().is_none(),
        "the engine exited"
    );
    let rss_kb: u64 = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap_or(0);
    assert!(
        rss_kb < 300_000,
        "RSS {rss_kb} kB after {n} random requests"
    );
    eprintln!(
        "http fuzz: {n} random requests, {answered} answered with a status line, RSS {rss_kb} kB"
    );
    assert!(
        answered > n / 4,
        "most requests get an answer: {answered} of {n}"
    );
    crate::cli::unsafe_kill_term(child.id());
    assert_eq!(child.wait().map(|s| s.code()).ok().flatten(), Some(0));
}

/// A random AMQP field value, nested a few levels.
fn random_amqp(rng: &mut impl Rng, depth: u32) -> lapin::types::AMQPValue {
    use lapin::types::{AMQPValue as V, DecimalValue, FieldArray, FieldTable, LongString};
    // RabbitMQ refuses the unsigned types of AMQP 0-9-1 ('B', 'u', 'i'): they are left out.
    let pick = rng.random_range(0..if depth > 2 { 14 } else { 16 });
    match pick {
        0 | 2 => V::Boolean(rng.random()),
        1 => V::ShortShortInt(rng.random()),
        3 | 4 => V::ShortInt(rng.random()),
        5 | 6 => V::LongInt(rng.random()),
        7 => V::LongLongInt(rng.random()),
        8 => V::Float(rng.random()),
        9 => V::Double(f64::from_bits(rng.random())),
        10 => V::DecimalValue(DecimalValue {
            scale: rng.random(),
            value: rng.random(),
        }),
        11 => V::Timestamp(rng.random()),
        12 => {
            let mut b = vec![0u8; rng.random_range(0..300)];
            rng.fill_bytes(&mut b);
            V::LongString(LongString::from(b))
        }
        13 => V::Void,
        14 => {
            let mut a = FieldArray::default();
            for _ in 0..rng.random_range(0..4) {
                a.push(random_amqp(rng, depth + 1));
            }
            V::FieldArray(a)
        }
        _ => {
            let mut t = FieldTable::default();
            for k in 0..rng.random_range(0..4) {
                t.insert(
                    format!("k{k}-{}", rng.random::<u16>()).into(),
                    random_amqp(rng, depth + 1),
                );
            }
            V::FieldTable(t)
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn amqp_input_takes_random_properties_and_headers() {
    use lapin::options::{BasicPublishOptions, QueueDeclareOptions, QueueDeleteOptions};
    use lapin::types::FieldTable;
    use lapin::BasicProperties;
    engine::http::install_tls_provider();
    let Some(url) = crate::connectors::amqp_url() else {
        return;
    };
    let queue = format!("fuzz_amqp_{}", std::process::id());
    let conn = lapin::Connection::connect(
        &engine::components::connectors::amqp::default_vhost(&url),
        lapin::ConnectionProperties::default(),
    )
    .await
    .expect("RabbitMQ");
    let ch = conn.create_channel().await.expect("channel");
    ch.queue_declare(
        queue.as_str().into(),
        QueueDeclareOptions::default(),
        FieldTable::default(),
    )
    .await
    .expect("declare");
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let n = cases(300) as usize;
    for i in 0..n {
        let mut headers = FieldTable::default();
        for h in 0..rng.random_range(0..8) {
            headers.insert(
                format!("h{h}-x_{}", rng.random::<u8>()).into(),
                random_amqp(&mut rng, 0),
            );
        }
        let mut props = BasicProperties::default()
            .with_headers(headers)
            .with_priority(rng.random_range(0..10))
            .with_delivery_mode(rng.random_range(1..3))
            .with_timestamp(rng.random());
        if rng.random_bool(0.5) {
            props = props
                .with_content_type("application/json".into())
                .with_message_id(format!("m{i}").into())
                .with_correlation_id("".into())
                .with_expiration("60000".into())
                .with_type("a/b".into());
        }
        let mut body = vec![0u8; rng.random_range(0..200)];
        rng.fill_bytes(&mut body);
        ch.basic_publish(
            "".into(),
            queue.as_str().into(),
            BasicPublishOptions::default(),
            &body,
            props,
        )
        .await
        .expect("publish")
        .await
        .expect("published");
    }
    let api = free_port();
    let (_dir, path) = temp_config(&format!(
        "http:\n  address: 127.0.0.1:{api}\ninput:\n  amqp_0_9:\n    urls: [ \"{url}\" ]\n    queue: {queue}\n    prefetch_count: 50\npipeline:\n  processors:\n    - mapping: 'root = @'\noutput:\n  drop: {{}}\n"
    ));
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    let want = n as f64;
    let sent = crate::support::await_metric(api, "output_sent", |v| v >= want).await;
    assert!(
        child.try_wait().ok().flatten().is_none(),
        "the engine exited"
    );
    crate::cli::unsafe_kill_term(child.id());
    let _ = child.wait();
    let _ = ch
        .queue_delete(queue.as_str().into(), QueueDeleteOptions::default())
        .await;
    assert_eq!(
        sent, n as f64,
        "every message with random properties went through"
    );
    eprintln!("amqp fuzz: {n} messages with random properties and headers");
}
