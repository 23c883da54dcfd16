//! This box's place in a cluster, and pushing custody columns of a dispersed blob to the peers
//! that keep them (`POST /v1/internal/custody` on each). See `docs/da.md`.

use std::time::Duration;

use appliance_da::custody::columns_of;
use appliance_da::BlobStore;
use appliance_protocol::BlobId;

use crate::limits::CUSTODY_PUSH_TIMEOUT_SECS;

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
        }
    }

    /// Every node id of the cluster, this box's included.
    pub fn nodes(&self) -> Vec<String> {
        std::iter::once(self.node_id.clone())
            .chain(self.peers.iter().map(|p| p.id.clone()))
            .collect()
    }

    /// Sends each peer the columns it keeps of blob `id` (held whole here), all peers at once.
    pub async fn distribute(&self, store: &BlobStore, id: BlobId) -> Vec<Push> {
        let nodes = self.nodes();
        let pushes = self.peers.iter().map(|peer| {
            let columns = columns_of(&peer.id, &nodes);
            let store = store.clone();
            async move {
                let count = columns.len();
                let result = if columns.is_empty() {
                    Ok(())
                } else {
                    self.push(store, id, peer, columns).await
                };
                metrics::counter!(
                    "da_custody_pushes_total",
                    "result" => if result.is_ok() { "ok" } else { "failed" }
                )
                .increment(1);
                Push {
                    peer: peer.id.clone(),
                    columns: count,
                    result,
                }
            }
        });
        futures_util::future::join_all(pushes).await
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
