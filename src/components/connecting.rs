//! Connecting an input or output, retried with backoff until it succeeds or the stream stops:
//! the stream's loops and the brokers' children connect the same way.

use std::sync::Arc;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio_util::sync::CancellationToken;

use super::{ComponentInfo, Input, Output};
use crate::metrics::ConnectionMetrics;

/// Backoff for (re)connecting, and for outputs retried until they succeed: 100 ms doubling to
/// 1 s, with jitter, for ever.
pub fn connect_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(1))
        .with_jitter()
        .without_max_times()
        .build()
}

/// The component a connection loop works on.
pub enum Connecting<'a> {
    Input(&'a mut Box<dyn Input>),
    Output(&'a Arc<dyn Output>),
}

/// Connect an input or output, retrying with backoff; false if cancelled first.
pub async fn connect(
    mut target: Connecting<'_>,
    info: &ComponentInfo,
    conn: &ConnectionMetrics,
    cancel: &CancellationToken,
) -> bool {
    let mut delays = connect_backoff();
    loop {
        let (kind, r) = match &mut target {
            Connecting::Input(i) => ("input", i.connect().await),
            Connecting::Output(o) => ("output", o.connect().await),
        };
        match r {
            Ok(()) => {
                conn.up();
                return true;
            }
            Err(e) => {
                conn.failed();
                tracing::error!(label = %info.label, path = %info.path, "failed to connect {kind}: {e}");
            }
        }
        let delay = delays.next().unwrap_or(Duration::from_secs(1));
        tokio::select! {
            _ = cancel.cancelled() => return false,
            _ = tokio::time::sleep(delay) => {}
        }
    }
}
