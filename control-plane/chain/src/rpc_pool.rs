//! Several JSON-RPC endpoints of one chain, tried in turn: an endpoint that does not answer in
//! time, fails at the transport, or whose head lags the others is skipped for the next one.

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use alloy::providers::{Provider, RootProvider};
use alloy::rpc::json_rpc::ErrorPayload;
use alloy::transports::{RpcError, TransportErrorKind};
use url::Url;

use crate::limits::MAX_HEAD_LAG_BLOCKS;

/// Why an RPC call did not give an answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum RpcFailure {
    /// No endpoint answered; each one's trouble is listed.
    #[error("no RPC endpoint answered {what}: {}", .attempts.join("; "))]
    Unreachable {
        /// The call.
        what: &'static str,
        /// "url: error" for each endpoint tried.
        attempts: Vec<String>,
    },
    /// An endpoint answered with a JSON-RPC error (the node refused, or the call reverted).
    #[error("RPC endpoint {url} refused {what}: {payload}")]
    Refused {
        /// The call.
        what: &'static str,
        /// The endpoint that answered.
        url: String,
        /// Its error, with revert data where there is some.
        payload: ErrorPayload,
    },
}

struct Endpoint {
    url: Url,
    provider: RootProvider,
}

/// The endpoints, with the one that answered last tried first.
pub(crate) struct RpcPool {
    endpoints: Vec<Endpoint>,
    preferred: AtomicUsize,
    highest_head: AtomicU64,
    timeout: Duration,
}

impl RpcPool {
    /// One provider per URL (at least one URL).
    pub(crate) fn new(urls: &[Url], timeout: Duration) -> Self {
        assert!(!urls.is_empty(), "an RPC pool needs at least one endpoint");
        let endpoints = urls
            .iter()
            .map(|url| Endpoint {
                url: url.clone(),
                provider: RootProvider::new_http(url.clone()),
            })
            .collect();
        Self {
            endpoints,
            preferred: AtomicUsize::new(0),
            highest_head: AtomicU64::new(0),
            timeout,
        }
    }

    /// Runs `call` against the preferred endpoint, then the others in order, until one answers.
    /// A JSON-RPC error is an answer (returned as `Refused`), not a reason to fail over.
    pub(crate) async fn call<T, F, Fut>(&self, what: &'static str, call: F) -> Result<T, RpcFailure>
    where
        F: Fn(RootProvider) -> Fut,
        Fut: Future<Output = Result<T, RpcError<TransportErrorKind>>>,
    {
        let start = self.preferred.load(Ordering::Relaxed);
        let mut attempts = Vec::new();
        for offset in 0..self.endpoints.len() {
            let index = (start + offset) % self.endpoints.len();
            let endpoint = &self.endpoints[index];
            match tokio::time::timeout(self.timeout, call(endpoint.provider.clone())).await {
                Ok(Ok(value)) => {
                    self.prefer(index, start);
                    return Ok(value);
                }
                Ok(Err(RpcError::ErrorResp(payload))) => {
                    self.prefer(index, start);
                    return Err(RpcFailure::Refused {
                        what,
                        url: endpoint.url.to_string(),
                        payload,
                    });
                }
                Ok(Err(e)) => attempts.push(format!("{}: {e}", endpoint.url)),
                Err(_) => attempts.push(format!(
                    "{}: no answer within {:?}",
                    endpoint.url, self.timeout
                )),
            }
        }
        Err(RpcFailure::Unreachable { what, attempts })
    }

    /// The chain head. Asks every endpoint at once; the highest head any of them reports is the
    /// reference, and an endpoint more than `MAX_HEAD_LAG_BLOCKS` behind it is lagging. The first
    /// endpoint (from the preferred one on) that answers and does not lag becomes preferred, so
    /// later calls (receipts, sends) go to a node that is up to date.
    pub(crate) async fn head(&self) -> Result<u64, RpcFailure> {
        let heads = futures::future::join_all(self.endpoints.iter().map(|endpoint| async {
            match tokio::time::timeout(self.timeout, endpoint.provider.get_block_number()).await {
                Ok(Ok(head)) => Ok(head),
                Ok(Err(e)) => Err(format!("{}: {e}", endpoint.url)),
                Err(_) => Err(format!(
                    "{}: no answer within {:?}",
                    endpoint.url, self.timeout
                )),
            }
        }))
        .await;
        let answered = heads.iter().filter_map(|h| h.as_ref().ok().copied()).max();
        let highest = match answered {
            Some(head) => self
                .highest_head
                .fetch_max(head, Ordering::Relaxed)
                .max(head),
            None => 0,
        };
        let start = self.preferred.load(Ordering::Relaxed);
        let mut attempts = Vec::new();
        for offset in 0..self.endpoints.len() {
            let index = (start + offset) % self.endpoints.len();
            match &heads[index] {
                Ok(head) if head + MAX_HEAD_LAG_BLOCKS >= highest => {
                    self.prefer(index, start);
                    return Ok(*head);
                }
                Ok(head) => attempts.push(format!(
                    "{}: lagging, head {head} is {} blocks behind {highest}",
                    self.endpoints[index].url,
                    highest - head
                )),
                Err(e) => attempts.push(e.clone()),
            }
        }
        Err(RpcFailure::Unreachable {
            what: "eth_blockNumber",
            attempts,
        })
    }

    fn prefer(&self, index: usize, was: usize) {
        if index != was {
            tracing::warn!(endpoint = %self.endpoints[index].url, "chain RPC failed over");
            self.preferred.store(index, Ordering::Relaxed);
        }
    }
}
