//! Messages, batches and the acknowledgement handles that travel with them.

pub mod ack;
pub mod value;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use once_cell::sync::OnceCell;

pub use ack::{AckHandle, AckStatus};
pub use value::Value;

pub type Metadata = BTreeMap<std::borrow::Cow<'static, str>, Value>;

/// Why a processor flagged a message, with the processor that did it (Bento's
/// `error_source_label()`, `error_source_path()`, `error_source_type()`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MessageError {
    pub text: String,
    pub label: String,
    pub path: String,
    pub component: String,
}

/// One message: raw bytes and a lazily parsed structured value (each derived from the other on
/// demand and cached), metadata, and an optional error flag. Cloning is cheap: payloads and
/// metadata are shared until one side writes.
#[derive(Clone, Debug, Default)]
pub struct Message {
    // once_cell's cell rather than std's `OnceLock`: a message is mostly built with its
    // payload, and `OnceCell::with_value` makes a full cell directly where `OnceLock::from`
    // goes through `set` and its `Once` (≈200 instructions a message, callgrind).
    raw: OnceCell<Bytes>,
    parsed: OnceCell<Result<Arc<Value>, String>>,
    /// `None` for no metadata: most messages have none, and an empty map behind an `Arc`
    /// would still be an allocation per message.
    meta: Option<Arc<Metadata>>,
    /// Metadata not built yet ([`Message::set_deferred_meta`]); set only while `meta` is None.
    deferred: Option<Arc<dyn DeferredMeta>>,
    error: Option<Arc<MessageError>>,
    /// Where a `sync_response` output or processor leaves the reply for the request this
    /// message came from (`http_server`); shared by every message derived from it.
    sync: Option<Arc<SyncResponse>>,
}

/// The reply an input that answers its caller (`http_server`) will send.
#[derive(Debug, Default)]
pub struct SyncResponse {
    parts: std::sync::Mutex<Vec<Message>>,
}

impl SyncResponse {
    pub fn push(&self, m: Message) {
        let mut copy = m;
        // The stored copy must not keep the slot alive in a cycle.
        copy.sync = None;
        match self.parts.lock() {
            Ok(mut p) => p.push(copy),
            Err(p) => p.into_inner().push(copy),
        }
    }

    pub fn take(&self) -> Vec<Message> {
        match self.parts.lock() {
            Ok(mut p) => std::mem::take(&mut *p),
            Err(p) => std::mem::take(&mut *p.into_inner()),
        }
    }
}

pub type Batch = Vec<Message>;

/// What an input's metadata is built from, when building it can wait until something reads
/// it: an HTTP request's headers, say. A request through `http_server → drop` cost more to
/// turn into metadata keys than all the rest of its way, and most pipelines read a few keys
/// or none. What a pipeline sees is the same either way: the source does not change, and the
/// metadata is built once, on first read, and kept.
pub trait MetadataSource: Send + Sync + 'static {
    fn build(&self) -> Metadata;
}

/// A [`MetadataSource`] and, once read, what it built.
pub struct Deferred<S> {
    source: S,
    built: OnceLock<Metadata>,
}

impl<S: MetadataSource> Deferred<S> {
    /// Made by the input before its message, when the source is at hand before the payload
    /// is: an HTTP request's head goes straight into its place here rather than being carried
    /// along while the body is read.
    pub fn new(source: S) -> Arc<Deferred<S>> {
        Arc::new(Deferred {
            source,
            built: OnceLock::new(),
        })
    }

    pub fn source(&self) -> &S {
        &self.source
    }
}

/// [`Deferred`] without its source's type, as a message holds it.
trait DeferredMeta: Send + Sync {
    fn get(&self) -> &Metadata;
    /// The metadata to own: moved out when this was the last holder.
    fn into_metadata(self: Arc<Self>) -> Metadata;
}

impl<S: MetadataSource> DeferredMeta for Deferred<S> {
    fn get(&self) -> &Metadata {
        self.built.get_or_init(|| self.source.build())
    }

    fn into_metadata(self: Arc<Self>) -> Metadata {
        match Arc::try_unwrap(self) {
            Ok(d) => match d.built.into_inner() {
                Some(m) => m,
                None => d.source.build(),
            },
            Err(shared) => shared.get().clone(),
        }
    }
}

impl std::fmt::Debug for dyn DeferredMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Message {
    pub fn from_bytes(b: impl Into<Bytes>) -> Message {
        Message {
            raw: OnceCell::with_value(b.into()),
            ..Message::default()
        }
    }

    /// A message whose payload is `v`. Strings and bytes become the raw payload itself, as in
    /// Bento; other values are kept structured and serialised to JSON only when bytes are needed.
    pub fn from_value(v: Value) -> Message {
        let mut m = Message::default();
        m.set_value(v);
        m
    }

    /// A message whose document is `v` and whose payload is `raw`, both set: a string document
    /// as Bento's `SetStructured` keeps one (`this` is the string, `content()` its text).
    pub fn from_structured(raw: impl Into<Bytes>, v: Value) -> Message {
        Message {
            raw: OnceCell::with_value(raw.into()),
            parsed: OnceCell::with_value(Ok(Arc::new(v))),
            ..Message::default()
        }
    }

    pub fn bytes(&self) -> &Bytes {
        self.raw.get_or_init(|| match self.parsed.get() {
            Some(Ok(v)) => value_to_bytes(v),
            _ => Bytes::new(),
        })
    }

    /// Serialise a structured payload to its bytes and drop the parsed form, for a message
    /// that is only written from here on: a later [`Message::structured`] parses the bytes
    /// again.
    pub fn keep_only_bytes(&mut self) {
        self.bytes();
        self.parsed = OnceCell::new();
    }

    /// Whether the payload is held in parsed form (parsed, or set as a value).
    pub fn is_parsed(&self) -> bool {
        self.parsed.get().is_some()
    }

    pub fn as_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.bytes())
    }

    /// The payload parsed as JSON (once; later calls reuse it).
    pub fn structured(&self) -> Result<&Value, String> {
        match self.parsed.get_or_init(|| {
            Value::from_json_slice(self.bytes())
                .map(Arc::new)
                .map_err(|e| format!("parse as json: {}", go_json_error(&e)))
        }) {
            Ok(v) => Ok(v),
            Err(e) => Err(e.clone()),
        }
    }

    /// Shared handle on the parsed payload, for callers that keep it beyond `&self`.
    pub fn structured_arc(&self) -> Result<Arc<Value>, String> {
        self.structured()?;
        match self.parsed.get() {
            Some(Ok(v)) => Ok(v.clone()),
            _ => Err("payload is not structured".into()),
        }
    }

    /// The parsed payload by value, for a caller that replaces it afterwards: no copy when
    /// nothing else shares it. `None` when the payload is not JSON, or when the message has no
    /// raw bytes to stay consistent with once the value is taken.
    pub fn take_structured(&mut self) -> Option<Value> {
        self.raw.get()?;
        self.structured().ok()?;
        match self.parsed.take() {
            Some(Ok(v)) => Some(Arc::try_unwrap(v).unwrap_or_else(|shared| (*shared).clone())),
            _ => None,
        }
    }

    pub fn set_bytes(&mut self, b: impl Into<Bytes>) {
        self.raw = OnceCell::with_value(b.into());
        self.parsed = OnceCell::new();
    }

    pub fn set_value(&mut self, v: Value) {
        match v {
            Value::String(s) => self.set_bytes(s.into_bytes()),
            Value::Bytes(b) => self.set_bytes(b),
            other => {
                self.raw = OnceCell::new();
                self.parsed = OnceCell::with_value(Ok(Arc::new(other)));
            }
        }
    }

    pub fn meta(&self) -> &Metadata {
        static EMPTY: Metadata = Metadata::new();
        match (&self.meta, &self.deferred) {
            (Some(m), _) => m,
            (None, Some(d)) => d.get(),
            (None, None) => &EMPTY,
        }
    }

    pub fn meta_mut(&mut self) -> &mut Metadata {
        if let Some(d) = self.deferred.take() {
            self.meta = Some(Arc::new(d.into_metadata()));
        }
        Arc::make_mut(self.meta.get_or_insert_with(Default::default))
    }

    pub fn set_meta(&mut self, meta: Metadata) {
        self.deferred = None;
        self.meta = (!meta.is_empty()).then(|| Arc::new(meta));
    }

    /// Metadata that `source` builds when it is first read (see [`MetadataSource`]).
    pub fn set_deferred_meta(&mut self, source: impl MetadataSource) {
        self.set_deferred(Deferred::new(source));
    }

    /// As [`Message::set_deferred_meta`], with the source already in place.
    pub fn set_deferred<S: MetadataSource>(&mut self, deferred: Arc<Deferred<S>>) {
        self.meta = None;
        self.deferred = Some(deferred);
    }

    pub fn meta_str(&self, key: &str) -> Option<String> {
        self.meta().get(key).map(|v| v.to_string())
    }

    pub fn error(&self) -> Option<&MessageError> {
        self.error.as_deref()
    }

    pub fn set_error(&mut self, e: MessageError) {
        self.error = Some(Arc::new(e));
    }

    pub fn clear_error(&mut self) {
        self.error = None;
    }

    pub fn sync_response(&self) -> Option<&Arc<SyncResponse>> {
        self.sync.as_ref()
    }

    pub fn set_sync_response(&mut self, slot: Arc<SyncResponse>) {
        self.sync = Some(slot);
    }
}

fn value_to_bytes(v: &Value) -> Bytes {
    match v {
        Value::String(s) => Bytes::copy_from_slice(s.as_bytes()),
        Value::Bytes(b) => Bytes::copy_from_slice(b),
        other => Bytes::from(other.to_json_bytes()),
    }
}

/// serde_json reports "expected value at line 1 column 1"; Bento users see Go's wording for the
/// common case of a payload that is not JSON at all, so translate the first character.
fn go_json_error(e: &serde_json::Error) -> String {
    e.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_payload_serialises_lazily() {
        let m = Message::from_value(Value::from_json_str(r#"{"b":2,"a":1}"#).unwrap());
        assert_eq!(m.bytes().as_ref(), br#"{"a":1,"b":2}"#);
    }

    #[test]
    fn string_values_become_raw_payloads() {
        let m = Message::from_value(Value::String("hello".into()));
        assert_eq!(m.bytes().as_ref(), b"hello");
        assert!(m.structured().is_err());
    }

    #[test]
    fn clones_do_not_share_metadata_writes() {
        let mut a = Message::from_bytes("x");
        a.meta_mut().insert("k".into(), Value::from("1"));
        let mut b = a.clone();
        b.meta_mut().insert("k".into(), Value::from("2"));
        assert_eq!(a.meta_str("k").as_deref(), Some("1"));
        assert_eq!(b.meta_str("k").as_deref(), Some("2"));
    }

    /// Counts its builds: a deferred source is built once, on first read, whatever reads it.
    struct Counted(Arc<std::sync::atomic::AtomicUsize>);

    impl MetadataSource for Counted {
        fn build(&self) -> Metadata {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Metadata::from([("k".into(), Value::from("v"))])
        }
    }

    #[test]
    fn deferred_metadata_is_built_once_when_first_read_and_copies_write_apart() {
        let builds = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = || builds.load(std::sync::atomic::Ordering::Relaxed);
        let mut a = Message::from_bytes("x");
        a.set_deferred_meta(Counted(builds.clone()));
        let mut b = a.clone();
        assert_eq!(count(), 0, "nothing read yet");
        assert_eq!(a.meta_str("k").as_deref(), Some("v"));
        assert_eq!(b.meta_str("k").as_deref(), Some("v"));
        assert_eq!(count(), 1, "the copies share what was built");
        b.meta_mut().insert("k".into(), Value::from("w"));
        assert_eq!(a.meta_str("k").as_deref(), Some("v"));
        assert_eq!(b.meta_str("k").as_deref(), Some("w"));
        // The last holder writes without building again or copying.
        a.meta_mut().insert("n".into(), Value::from("1"));
        assert_eq!(a.meta().len(), 2);
        assert_eq!(count(), 1);
        // Written before it was ever read: built then, once.
        let mut c = Message::from_bytes("y");
        c.set_deferred_meta(Counted(builds.clone()));
        c.meta_mut().remove("k");
        assert!(c.meta().is_empty());
        assert_eq!(count(), 2);
        let mut d = b.clone();
        d.set_bytes("z");
        assert_eq!(d.meta_str("k").as_deref(), Some("w"));
        d.set_meta(Metadata::new());
        assert!(d.meta().is_empty());
    }
}
