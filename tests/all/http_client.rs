//! The `http` processor and `http_client` output against a stand-in ML service that fails and
//! answers slowly on demand.

use crate::ml_service;
use crate::support::{spawn_engine, temp_config};
use std::io::{BufRead, BufReader, Write};

fn run_lines(yaml: &str, input: &str) -> (Vec<String>, String, Option<i32>) {
    let (_dir, path) = temp_config(yaml);
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy()]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// [`run_lines`] off the async test's thread.
async fn run_async(yaml: String, input: &'static str) -> (Vec<String>, String, Option<i32>) {
    tokio::task::spawn_blocking(move || run_lines(&yaml, input))
        .await
        .expect("the engine run finishes")
}

#[tokio::test]
async fn the_http_processor_retries_until_the_service_recovers() {
    let (addr, svc) = ml_service::start().await;
    let yaml = format!(
        r#"http: {{enabled: false}}
input:
  stdin: {{}}
pipeline:
  processors:
    - http:
        url: 'http://{addr}/v1/infer?fail=2&key=${{! this.id }}'
        retries: 3
        retry_period: 10ms
        backoff_on: [ 429 ]
        extract_headers:
          include_prefixes: [ x-model ]
    - mapping: |
        root = this
        root.code = @http_status_code
        root.version = @"x-model-version"
output:
  stdout: {{}}
"#
    );
    let (lines, err, code) = tokio::task::spawn_blocking(move || {
        run_lines(&yaml, "{\"id\":\"a\",\"prompt\":\"hello world\"}\n")
    })
    .await
    .unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines,
        vec![
            r#"{"attempt":3,"code":200,"output":"echo: hello world","tokens_used":3,"version":"stub-1"}"#
        ]
    );
    assert_eq!(svc.seen.lock().unwrap()["a"], 3);
}

#[tokio::test]
async fn exhausted_retries_flag_the_message_with_bentos_error_text() {
    let (addr, svc) = ml_service::start().await;
    let yaml = format!(
        r#"http: {{enabled: false}}
input:
  stdin: {{}}
pipeline:
  processors:
    - http:
        url: 'http://{addr}/v1/infer?status=502&key=b'
        retries: 2
        retry_period: 5ms
    - mapping: 'root = {{"error": error(), "code": @http_status_code, "kept": this.prompt}}'
output:
  stdout: {{}}
"#
    );
    let (lines, err, _) = run_async(yaml, "{\"prompt\":\"p\"}\n").await;
    assert_eq!(
        lines,
        vec![format!(
            r#"{{"code":502,"error":"http://{addr}/v1/infer: HTTP request returned unexpected response code (502): 502 Bad Gateway, Error: {{\"error\":\"status 502\"}}","kept":"p"}}"#
        )],
        "{err}"
    );
    // One attempt plus two retries.
    assert_eq!(svc.seen.lock().unwrap()["b"], 3);
}

#[tokio::test]
async fn a_stalled_service_times_out_and_drop_on_fails_at_once() {
    let (addr, svc) = ml_service::start().await;
    let yaml = format!(
        r#"http: {{enabled: false}}
input:
  stdin: {{}}
pipeline:
  threads: 1
  processors:
    - http:
        url: 'http://{addr}/v1/infer?${{! this.q }}'
        timeout: 100ms
        retries: 1
        retry_period: 5ms
        drop_on: [ 400 ]
    - mapping: 'root = if errored() {{ "failed" }} else {{ "ok" }}'
output:
  stdout: {{}}
"#
    );
    let input =
        "{\"q\":\"stall=1&key=s\"}\n{\"q\":\"status=400&key=d\"}\n{\"q\":\"delay_ms=20&key=ok\"}\n";
    let (lines, err, _) = tokio::task::spawn_blocking(move || run_lines(&yaml, input))
        .await
        .unwrap();
    assert_eq!(lines, vec!["failed", "failed", "ok"], "{err}");
    let seen = svc.seen.lock().unwrap();
    assert_eq!(seen["s"], 2, "a timeout is retried");
    assert_eq!(seen["d"], 1, "drop_on is not retried");
}

#[tokio::test]
async fn the_http_client_output_nacks_failures_back_to_the_input() {
    let (addr, _svc) = ml_service::start().await;
    // A failing output nacks; stdin replays nacked messages until they succeed (fail=2).
    let yaml = format!(
        r#"http: {{enabled: false}}
input:
  stdin: {{}}
output:
  http_client:
    url: 'http://{addr}/v1/infer?fail=2&key=out'
    retries: 0
"#
    );
    let (_dir, path) = temp_config(&yaml);
    let mut child = spawn_engine(&["run", "-c", &path.to_string_lossy(), "--log.level", "warn"]);
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"{\"prompt\":\"x\"}\n")
        .unwrap();
    let status = tokio::task::spawn_blocking(move || {
        // The output is not `stdout`: logs go there, as Bento's do.
        let err = BufReader::new(child.stdout.take().unwrap());
        let warnings = err
            .lines()
            .map_while(Result::ok)
            .filter(|l| l.contains("replaying"))
            .count();
        (child.wait().unwrap().code(), warnings)
    })
    .await
    .unwrap();
    assert_eq!(status, (Some(0), 2));
    assert_eq!(_svc.seen.lock().unwrap()["out"], 3);
}

#[tokio::test]
async fn error_texts_name_the_url_without_credentials_or_query() {
    let yaml = r#"http: {enabled: false}
input:
  stdin: {}
pipeline:
  processors:
    - http:
        url: 'http://someone:hunter2@127.0.0.1:1/v1/infer?token=s3cret'
        retries: 0
    - catch:
        - mapping: 'root = error()'
output:
  stdout: {}
"#;
    let (lines, err, code) = run_lines(yaml, "{}\n");
    assert_eq!(code, Some(0), "{err}");
    let text = lines.join("\n");
    assert!(text.contains("http://127.0.0.1:1/v1/infer"), "{text}");
    for secret in ["hunter2", "someone", "s3cret", "token="] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
        assert!(!err.contains(secret), "{secret} leaked to the log: {err}");
    }
}

// Multi-threaded: the engine runs as a blocking child process while this test's server answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_2xx_whose_body_breaks_off_is_a_failure_not_an_empty_success() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        // Every request: a 200 promising 100 bytes, then the connection drops after 5.
        while let Ok((mut s, _)) = listener.accept().await {
            let mut req = [0u8; 2048];
            let _ = s.read(&mut req).await;
            let _ = s
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
                .await;
        }
    });
    let yaml = format!(
        r#"http: {{enabled: false}}
input:
  stdin: {{}}
pipeline:
  processors:
    - http:
        url: 'http://{addr}/v1/infer'
        retries: 1
        retry_period: 10ms
    - catch:
        - mapping: 'root = "failed: " + error()'
output:
  stdout: {{}}
"#
    );
    let (lines, err, code) = run_lines(&yaml, "{}\n");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("failed: ") && lines[0].contains("failed to read the response body"),
        "{lines:?}"
    );
}

/// A CA, a server certificate for `localhost` and a client certificate it signed, as PEM.
pub struct Pki {
    pub ca: String,
    pub server: (String, String),
    pub client: (String, String),
}

pub fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let leaf = |name: &str| {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), key.serialize_pem())
    };
    Pki {
        ca: ca.pem(),
        server: leaf("localhost"),
        client: leaf("client"),
    }
}

/// An HTTPS server that answers `ok` to every request; with `client_ca`, only to clients
/// that present a certificate that CA signed.
async fn https_server(pki: &Pki, client_ca: bool) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let certs = vec![CertificateDer::from_pem_slice(pki.server.0.as_bytes()).unwrap()];
    let key = PrivateKeyDer::from_pem_slice(pki.server.1.as_bytes()).unwrap();
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap();
    let config = if client_ca {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(pki.ca.as_bytes()).unwrap())
            .unwrap();
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(roots.into(), provider)
                .build()
                .unwrap();
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    }
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

/// The `http` processor's answer to one message, or its error, with this `tls` block.
async fn call_with_tls(port: u16, tls: &str) -> String {
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: https://localhost:{port}/\n        verb: POST\n        retries: 0\n{tls}    - mapping: 'root = if errored() {{ \"failed: \" + error() }} else {{ content() }}'\noutput:\n  stdout: {{}}\n"
    );
    let (lines, err, code) = run_async(yaml, "x\n").await;
    assert_eq!(code, Some(0), "{err}");
    lines.join("\n")
}

fn yaml_block(pem: &str, indent: usize) -> String {
    let pad = " ".repeat(indent);
    format!(
        "|\n{}",
        pem.lines()
            .map(|l| format!("{pad}{l}\n"))
            .collect::<String>()
    )
}

#[tokio::test]
async fn the_http_processor_trusts_configured_root_cas_presents_client_certs_and_can_skip_verification(
) {
    engine::http::install_tls_provider();
    let pki = pki();
    let port = https_server(&pki, false).await;
    let roots = format!(
        "        tls:\n          enabled: true\n          root_cas: {}",
        yaml_block(&pki.ca, 12)
    );
    assert_eq!(call_with_tls(port, &roots).await, "ok");
    // Without the CA the server is not trusted.
    let refused = call_with_tls(port, "").await;
    assert!(refused.starts_with("failed: "), "{refused}");
    assert!(refused.contains("certificate"), "{refused}");
    let skip = "        tls:\n          enabled: true\n          skip_cert_verify: true\n";
    assert_eq!(call_with_tls(port, skip).await, "ok");

    // A server that asks for a client certificate gets the configured one.
    let mtls_port = https_server(&pki, true).await;
    let with_cert = format!(
        "{roots}          client_certs:\n            - cert: {}              key: {}",
        yaml_block(&pki.client.0, 16),
        yaml_block(&pki.client.1, 16)
    );
    assert_eq!(call_with_tls(mtls_port, &with_cert).await, "ok");
    let without = call_with_tls(mtls_port, &roots).await;
    assert!(without.starts_with("failed: "), "{without}");
}

#[tokio::test]
async fn follow_redirects_false_returns_the_redirect_itself() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let n = tcp.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]);
                let resp = if head.starts_with("POST /moved") || head.starts_with("GET /moved") {
                    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\narrive"
                } else {
                    "HTTP/1.1 302 Found\r\nLocation: /moved\r\nContent-Length: 5\r\nConnection: close\r\n\r\nfound"
                };
                let _ = tcp.write_all(resp.as_bytes()).await;
            });
        }
    });
    let run = |follow: bool| {
        let yaml = format!(
            "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: http://127.0.0.1:{port}/start\n        retries: 0\n        follow_redirects: {follow}\n        successful_on: [ 302 ]\n    - mapping: 'root = content().string() + \" \" + @http_status_code.string()'\noutput:\n  stdout: {{}}\n"
        );
        tokio::task::spawn_blocking(move || run_lines(&yaml, "x\n"))
    };
    let (lines, err, code) = run(true).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines, vec!["arrive 200"]);
    let (lines, err, code) = run(false).await.unwrap();
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines, vec!["found 302"]);
}

#[tokio::test]
async fn oauth2_client_credentials_fetch_one_token_and_send_it_as_bearer() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let token_calls = std::sync::Arc::new(AtomicUsize::new(0));
    let seen_form = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let (calls, form) = (token_calls.clone(), seen_form.clone());
    let port = answering_server(move |req| {
        if !req.starts_with("POST /token") {
            return authorization_of(req);
        }
        calls.fetch_add(1, Ordering::SeqCst);
        // client_key:client_secret, as HTTP basic auth.
        assert!(
            req.contains("authorization: Basic a2V5OnNlY3JldA=="),
            "{req}"
        );
        *form.lock().unwrap() = req.rsplit("\r\n\r\n").next().unwrap_or_default().to_owned();
        r#"{"access_token":"tok-1","token_type":"bearer","expires_in":3600}"#.to_owned()
    })
    .await;
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  threads: 1\n  processors:\n    - http:\n        url: http://127.0.0.1:{port}/infer\n        retries: 0\n        oauth2:\n          enabled: true\n          client_key: key\n          client_secret: secret\n          token_url: http://127.0.0.1:{port}/token\n          scopes: [ a, b ]\n          endpoint_params:\n            audience: [ api ]\noutput:\n  stdout: {{}}\n"
    );
    let (lines, err, code) = run_async(yaml, "x\ny\n").await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines, vec!["Bearer tok-1", "Bearer tok-1"]);
    assert_eq!(
        token_calls.load(Ordering::SeqCst),
        1,
        "one token for both requests"
    );
    assert_eq!(
        *seen_form.lock().unwrap(),
        "grant_type=client_credentials&scope=a+b&audience=api"
    );
}

#[tokio::test]
async fn jwt_auth_signs_each_request_with_the_private_key() {
    use base64::Engine;
    use p256::ecdsa::signature::Verifier;
    use p256::pkcs8::DecodePublicKey;
    let key = rcgen::KeyPair::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.pem");
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    let port = authorization_echo().await;
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: http://127.0.0.1:{port}/infer\n        retries: 0\n        jwt:\n          enabled: true\n          private_key_file: {}\n          signing_method: ES256\n          claims:\n            sub: engine\n          headers:\n            kid: k1\noutput:\n  stdout: {{}}\n",
        key_file.display()
    );
    let (lines, err, code) = run_async(yaml, "x\n").await;
    assert_eq!(code, Some(0), "{err}");
    let token = lines[0].strip_prefix("Bearer ").expect("a bearer token");
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "{token}");
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "ES256", "kid": "k1", "typ": "JWT"})
    );
    assert_eq!(claims, serde_json::json!({"sub": "engine"}));
    let verifier = p256::ecdsa::VerifyingKey::from_public_key_pem(&key.public_key_pem()).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&b64.decode(parts[2]).unwrap()).unwrap();
    verifier
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
        .expect("signed with the configured key");

    // A signing method the key cannot serve fails at start, naming the field.
    let bad = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: http://127.0.0.1:{port}/infer\n        jwt:\n          enabled: true\n          private_key_file: {}\n          signing_method: RS256\noutput:\n  stdout: {{}}\n",
        dir.path().join("key.pem").display()
    );
    let (_, err, code) = run_async(bad, "x\n").await;
    assert_ne!(code, Some(0));
    assert!(err.contains("jwt: "), "{err}");
}

/// A plain HTTP/1.1 server on loopback that answers every request 200, with the body `answer`
/// gives for the request's text (request line, headers and what arrived of the body).
async fn answering_server<F>(answer: F) -> u16
where
    F: Fn(&str) -> String + Send + Sync + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut tcp, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = tcp.read(&mut buf).await.unwrap_or(0);
                let body = answer(&String::from_utf8_lossy(&buf[..n]));
                let resp = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tcp.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

/// The `Authorization` header of a request's text, or `none`.
fn authorization_of(req: &str) -> String {
    req.lines()
        .find_map(|l| l.strip_prefix("authorization: "))
        .unwrap_or("none")
        .to_owned()
}

/// A server that answers every request with its `Authorization` header.
async fn authorization_echo() -> u16 {
    answering_server(authorization_of).await
}

#[tokio::test]
async fn oauth_v1_signs_each_request_with_hmac_sha1() {
    use base64::Engine;
    use hmac::Mac;
    let port = authorization_echo().await;
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: http://127.0.0.1:{port}/infer?a=1\n        verb: GET\n        retries: 0\n        oauth:\n          enabled: true\n          consumer_key: ck\n          consumer_secret: cs\n          access_token: at\n          access_token_secret: ats\noutput:\n  stdout: {{}}\n"
    );
    let (lines, err, code) = run_async(yaml, "x\n").await;
    assert_eq!(code, Some(0), "{err}");
    let header = lines[0].strip_prefix("OAuth ").expect("an OAuth header");
    let field = |name: &str| {
        header
            .split(", ")
            .find_map(|kv| kv.strip_prefix(&format!("{name}=\"")))
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{name} in {header}"))
            .to_owned()
    };
    assert_eq!(field("oauth_consumer_key"), "ck");
    assert_eq!(field("oauth_token"), "at");
    assert_eq!(field("oauth_signature_method"), "HMAC-SHA1");
    assert_eq!(field("oauth_version"), "1.0");
    // The signature base string of RFC 5849 over the sorted oauth parameters, keyed by both
    // secrets, as Bento computes it.
    let (nonce, ts) = (field("oauth_nonce"), field("oauth_timestamp"));
    let params = format!("oauth_consumer_key=ck&oauth_nonce={nonce}&oauth_signature_method=HMAC-SHA1&oauth_timestamp={ts}&oauth_token=at&oauth_version=1.0");
    let esc = |s: &str| {
        s.replace('%', "%25")
            .replace(':', "%3A")
            .replace('/', "%2F")
            .replace('?', "%3F")
            .replace('=', "%3D")
            .replace('&', "%26")
    };
    let base = format!(
        "GET&{}&{}",
        esc(&format!("http://127.0.0.1:{port}/infer?a=1")),
        esc(&params)
    );
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"cs&ats").unwrap();
    mac.update(base.as_bytes());
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let got = field("oauth_signature")
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    assert_eq!(got, want);
}

#[tokio::test]
async fn batch_as_multipart_sends_a_batch_as_one_multipart_request() {
    let (port, seen) = capture_server().await;
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\noutput:\n  http_client:\n    url: http://127.0.0.1:{port}/batch\n    headers:\n      Content-Type: text/plain\n    batch_as_multipart: true\n    batching:\n      count: 3\n"
    );
    let (_, err, code) = run_async(yaml, "a\nb\nc\n").await;
    assert_eq!(code, Some(0), "{err}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1, "one request for the batch of three");
    let (ct, body) = &seen[0];
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("{ct}"));
    assert_eq!(
        String::from_utf8_lossy(body),
        format!("--{boundary}\r\nContent-Type: text/plain\r\n\r\na\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nb\r\n--{boundary}\r\nContent-Type: text/plain\r\n\r\nc\r\n--{boundary}--\r\n")
    );
}

#[tokio::test]
async fn transport_settings_apply_and_the_ones_engine_lacks_are_refused() {
    let port = authorization_echo().await;
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: http://127.0.0.1:{port}/\n        retries: 0\n        transport:\n          dial_context:\n            timeout: 2s\n            keep_alive: 10s\n          force_http2: false\n          max_idle_connections: 2\n          idle_connection_timeout: 1s\n          tls_handshake_timeout: 10s\noutput:\n  stdout: {{}}\n"
    );
    let (lines, err, code) = run_async(yaml, "x\n").await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(lines, vec!["none"]);

    let bad = "input:\n  stdin: {}\npipeline:\n  processors:\n    - http:\n        url: http://127.0.0.1:1/\n        transport:\n          expect_continue_timeout: 5s\n          dial_context:\n            timeout: soon\noutput:\n  stdout: {}\n";
    let (_d, path) = temp_config(bad);
    let out = crate::support::run_engine(&["lint", &path.to_string_lossy()], b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("(8,11) field expect_continue_timeout is not supported by engine"),
        "{err}"
    );
}

/// A server that records each request's Content-Type and body, and answers 200.
async fn capture_server() -> (
    u16,
    std::sync::Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(String, Vec<u8>)>::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut tcp, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then as many body bytes as Content-Length says.
                loop {
                    let n = tcp.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).into_owned();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len: usize = text
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length: "))
                            .and_then(|l| l.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() >= end + 4 + len {
                            let ct = text
                                .lines()
                                .find_map(|l| l.strip_prefix("content-type: "))
                                .unwrap_or_default()
                                .to_owned();
                            record
                                .lock()
                                .unwrap()
                                .push((ct, buf[end + 4..end + 4 + len].to_vec()));
                            break;
                        }
                    }
                }
                let _ = tcp
                    .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, seen)
}

#[tokio::test]
async fn multipart_parts_are_rendered_for_each_message() {
    let (port, seen) = capture_server().await;
    let yaml = format!(
        "http: {{enabled: false}}\ninput:\n  stdin: {{}}\noutput:\n  http_client:\n    url: http://127.0.0.1:{port}/parts\n    headers:\n      Content-Type: text/csv\n    max_in_flight: 1\n    multipart:\n      - content_type: text/plain\n        content_disposition: 'form-data; name=\"a\"'\n        body: '${{! this.a }}'\n      - content_type: application/json\n        content_disposition: 'form-data; name=\"whole\"'\n        body: '${{! content() }}'\n"
    );
    let (_, err, code) = run_async(yaml, "{\"a\":\"x\"}\n").await;
    assert_eq!(code, Some(0), "{err}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let (ct, body) = &seen[0];
    let boundary = ct
        .strip_prefix("multipart/form-data; boundary=")
        .unwrap_or_else(|| panic!("{ct}"));
    assert_eq!(
        String::from_utf8_lossy(body),
        format!("--{boundary}\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--{boundary}\r\nContent-Type: application/json\r\nContent-Disposition: form-data; name=\"whole\"\r\n\r\n{{\"a\":\"x\"}}\r\n--{boundary}--\r\n")
    );
}

#[tokio::test]
async fn proxy_url_sends_requests_through_the_proxy_and_dump_logs_them() {
    // A "proxy" that answers with the request line it was sent: absolute-form when proxied.
    let port = answering_server(|req| req.lines().next().unwrap_or_default().to_owned()).await;
    let yaml = format!(
        "http: {{enabled: false}}\nlogger:\n  level: INFO\ninput:\n  stdin: {{}}\npipeline:\n  processors:\n    - http:\n        url: http://upstream.invalid/v1/infer\n        retries: 0\n        proxy_url: http://127.0.0.1:{port}\n        dump_request_log_level: INFO\noutput:\n  stdout: {{}}\n"
    );
    let (lines, err, code) = run_async(yaml, "hello\n").await;
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        lines,
        vec!["POST http://upstream.invalid/v1/infer HTTP/1.1"]
    );
    // The output is `stdout`, so the dumps are logged to stderr.
    assert!(err.contains("msg=\"HTTP request\""), "{err}");
    assert!(
        err.contains("POST http://upstream.invalid/v1/infer"),
        "{err}"
    );
    assert!(err.contains("hello"), "{err}");
    assert!(err.contains("msg=\"HTTP response\""), "{err}");
}
