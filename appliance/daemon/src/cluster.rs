//! This box's place in a cluster, and pushing custody columns of a dispersed blob to the peers
//! that keep them (`POST /v1/internal/custody` on each). Pushes are queued durably in the blob
//! store's outbox before the first attempt, and retried with backoff (across restarts) until the
//! peer accepts them. See `docs/da.md`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use appliance_da::custody::columns_of;
use appliance_da::{BlobStore, DaError};
use appliance_protocol::BlobId;

use crate::limits::{CUSTODY_PUSH_TIMEOUT_SECS, OUTBOX_BATCH, OUTBOX_POLL_MILLIS};

/// Another box of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its node id.
    pub id: String,
    /// Base URL of its HTTP API, e.g. `http://127.0.0.1:8081`.
    pub url: String,
}

/// Parses `--peer ID=URL`.
pub fn parse_peer(text: &str) -> Result<Peer, String> {
    let (id, url) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not ID=URL (e.g. node-1=http://127.0.0.1:8081)"))?;
    if id.is_empty() || !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(format!(
            "{text:?}: the node id must not be empty and the URL must start with http:// or https://"
        ));
    }
    Ok(Peer {
        id: id.to_owned(),
        url: url.trim_end_matches('/').to_owned(),
    })
}

/// This box's node id and its peers.
#[derive(Debug, Clone)]
pub struct Cluster {
    /// This box's node id.
    pub node_id: String,
    /// The other boxes.
    pub peers: Vec<Peer>,
    client: reqwest::Client,
    /// Pushes under way (blob, peer), which the outbox does not start again meanwhile.
    in_flight: Arc<Mutex<HashSet<(BlobId, String)>>>,
}

/// What a push to one peer came to.
#[derive(Debug)]
pub struct Push {
    /// The peer's node id.
    pub peer: String,
    /// Columns sent.
    pub columns: usize,
    /// `Ok` when the peer kept them (or already had them).
    pub result: Result<(), String>,
}

impl Cluster {
    /// A cluster of this box and `peers`.
    pub fn new(node_id: String, peers: Vec<Peer>) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(CUSTODY_PUSH_TIMEOUT_SECS))
            .build()
            .expect("a default HTTP client builds");
        Cluster {
            node_id,
            peers,
            client,
            in_flight: Arc::default(),
        }
    }

    /// Every node id of the cluster, this box's included.
    pub fn nodes(&self) -> Vec<String> {
        std::iter::once(self.node_id.clone())
            .chain(self.peers.iter().map(|p| p.id.clone()))
            .collect()
    }

    /// Queues a push of blob `id` (held whole here) to every peer that keeps some of its
    /// columns, durably, then tries them all at once; a failed push stays queued for
    /// [`Cluster::run_outbox`], which leaves pushes under way alone.
    pub async fn distribute(&self, store: &BlobStore, id: BlobId) -> Vec<Push> {
        let nodes = self.nodes();
        let peers: Vec<&Peer> = self
            .peers
            .iter()
            .filter(|peer| !columns_of(&peer.id, &nodes).is_empty())
            .collect();
        let names: Vec<String> = peers.iter().map(|peer| peer.id.clone()).collect();
        // Marked before they are queued, so the outbox does not start them too.
        self.in_flight()
            .extend(names.iter().map(|name| (id, name.clone())));
        let queued = blocking(store, move |store| {
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            store.outbox().queue_pushes(&id, &names, now_ms())
        })
        .await;
        if let Err(error) = queued {
            tracing::error!(blob = %id, %error, "custody pushes not queued: tried once only");
        }
        let pushes = peers
            .into_iter()
            .map(|peer| self.push_and_settle(store, id, peer));
        futures_util::future::join_all(pushes).await
    }

    /// Retries the queued pushes as they fall due, until the task is dropped. A queued push to
    /// a box that is no longer a peer, or keeps no column now, is dropped.
    pub async fn run_outbox(self, store: BlobStore) {
        loop {
            tokio::time::sleep(Duration::from_millis(OUTBOX_POLL_MILLIS)).await;
            let due = blocking(&store, |store| {
                store.outbox().due_pushes(now_ms(), OUTBOX_BATCH)
            })
            .await;
            let due = match due {
                Ok(due) => due,
                Err(error) => {
                    tracing::error!(%error, "reading the custody outbox failed");
                    continue;
                }
            };
            let nodes = self.nodes();
            let mut pushes = Vec::new();
            for entry in due {
                if self.is_in_flight(&entry.blob, &entry.peer) {
                    continue;
                }
                match self.peers.iter().find(|peer| peer.id == entry.peer) {
                    Some(peer) if !columns_of(&peer.id, &nodes).is_empty() => {
                        pushes.push(self.push_and_settle(&store, entry.blob, peer));
                    }
                    _ => {
                        tracing::warn!(blob = %entry.blob, peer = %entry.peer, "custody push dropped: no longer a custodian peer");
                        let blob = entry.blob;
                        let peer = entry.peer.clone();
                        if let Err(error) =
                            blocking(&store, move |store| store.outbox().push_done(&blob, &peer))
                                .await
                        {
                            tracing::error!(%error, "updating the custody outbox failed");
                        }
                    }
                }
            }
            for push in futures_util::future::join_all(pushes).await {
                if let Err(error) = push.result {
                    tracing::debug!(peer = %push.peer, %error, "custody push retry failed");
                }
            }
        }
    }

    /// Pushes blob `id`'s columns to `peer` and records the outcome in the outbox: forgotten
    /// once accepted, rescheduled with backoff if not.
    async fn push_and_settle(&self, store: &BlobStore, id: BlobId, peer: &Peer) -> Push {
        let columns = columns_of(&peer.id, &self.nodes());
        let count = columns.len();
        let key = (id, peer.id.clone());
        self.in_flight().insert(key.clone());
        let result = self.push(store.clone(), id, peer, columns).await;
        metrics::counter!(
            "da_custody_pushes_total",
            "result" => if result.is_ok() { "ok" } else { "failed" }
        )
        .increment(1);
        let accepted = result.is_ok();
        let name = peer.id.clone();
        let settled = blocking(store, move |store| {
            if accepted {
                store.outbox().push_done(&id, &name).map(|()| None)
            } else {
                store.outbox().push_failed(&id, &name, now_ms())
            }
        })
        .await;
        match settled {
            Ok(Some(entry)) => tracing::info!(
                blob = %id, peer = %peer.id, attempts = entry.attempts,
                retry_in_ms = entry.due_ms.saturating_sub(now_ms()),
                "custody push not accepted: queued for a retry"
            ),
            Ok(None) => {}
            Err(error) => tracing::error!(blob = %id, %error, "updating the custody outbox failed"),
        }
        self.in_flight().remove(&key);
        Push {
            peer: peer.id.clone(),
            columns: count,
            result,
        }
    }

    fn in_flight(&self) -> std::sync::MutexGuard<'_, HashSet<(BlobId, String)>> {
        self.in_flight.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn is_in_flight(&self, id: &BlobId, peer: &str) -> bool {
        self.in_flight().contains(&(*id, peer.to_owned()))
    }

    async fn push(
        &self,
        store: BlobStore,
        id: BlobId,
        peer: &Peer,
        columns: Vec<u16>,
    ) -> Result<(), String> {
        let body = tokio::task::spawn_blocking(move || {
            store.custody_batch(&id, &columns).map(|b| b.encode())
        })
        .await
        .map_err(|e| format!("building the batch failed: {e}"))?
        .map_err(|e| format!("building the batch failed: {e}"))?;
        let url = format!("{}/v1/internal/custody", peer.url);
        let response = self
            .client
            .post(&url)
            .body(body)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            let text = response.text().await.unwrap_or_default();
            Err(format!("{url} answered {status}: {text}"))
        }
    }
}

/// Milliseconds since the Unix epoch (the outbox's clock).
fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs `job` on the blocking pool with a handle to `store`.
async fn blocking<T: Send + 'static>(
    store: &BlobStore,
    job: impl FnOnce(&BlobStore) -> Result<T, DaError> + Send + 'static,
) -> Result<T, DaError> {
    let store = store.clone();
    tokio::task::spawn_blocking(move || job(&store))
        .await
        .map_err(|e| DaError::Manifest(format!("outbox task failed: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse_and_bad_ones_are_explained() {
        assert_eq!(
            parse_peer("node-1=http://127.0.0.1:8081/").unwrap(),
            Peer {
                id: "node-1".into(),
                url: "http://127.0.0.1:8081".into()
            }
        );
        for bad in ["node-1", "=http://x", "node-1=127.0.0.1:8081"] {
            assert!(parse_peer(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nodes_lead_with_this_box() {
        let cluster = Cluster::new(
            "a".into(),
            vec![
                parse_peer("b=http://x").unwrap(),
                parse_peer("c=http://y").unwrap(),
            ],
        );
        assert_eq!(cluster.nodes(), ["a", "b", "c"]);
    }
}
