//! A box named on the command line: `ADDR` or `NODEID@ADDR`.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use appliance_quic::NodeId;

/// Where a box listens, and the node id to pin if one was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeSpec {
    /// The node id the box must present; `None` accepts any box (insecure).
    pub pin: Option<NodeId>,
    /// The box's QUIC address.
    pub addr: SocketAddr,
}

/// A `--node` value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeSpecError {
    /// The part before `@` is not a node id.
    #[error("{0:?} is not a node id (64 hex characters, as `appliance up` prints)")]
    BadNodeId(String),
    /// The address does not parse or resolve.
    #[error("{addr:?} is not a HOST:PORT address: {reason}")]
    BadAddress {
        /// The address given.
        addr: String,
        /// Why it is refused.
        reason: String,
    },
}

impl FromStr for NodeSpec {
    type Err = NodeSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (pin, addr) = match s.split_once('@') {
            Some((id, addr)) => (
                Some(
                    id.parse::<NodeId>()
                        .map_err(|_| NodeSpecError::BadNodeId(id.to_owned()))?,
                ),
                addr,
            ),
            None => (None, s),
        };
        let bad = |reason: String| NodeSpecError::BadAddress {
            addr: addr.to_owned(),
            reason,
        };
        let addr = match addr.parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => addr
                .to_socket_addrs()
                .map_err(|e| bad(e.to_string()))?
                .next()
                .ok_or_else(|| bad("resolves to no address".to_owned()))?,
        };
        Ok(Self { pin, addr })
    }
}

impl fmt::Display for NodeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.pin {
            Some(pin) => write!(f, "{pin}@{}", self.addr),
            None => write!(f, "{}", self.addr),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pinned_and_unpinned_nodes() {
        let id = "ab".repeat(32);
        let pinned: NodeSpec = format!("{id}@127.0.0.1:8443").parse().unwrap();
        assert_eq!(pinned.pin.unwrap().to_string(), id);
        assert_eq!(pinned.addr, "127.0.0.1:8443".parse().unwrap());
        assert_eq!(pinned.to_string(), format!("{id}@127.0.0.1:8443"));
        let plain: NodeSpec = "[::1]:9000".parse().unwrap();
        assert_eq!(plain.pin, None);
        assert!(plain.addr.is_ipv6());
        let named: NodeSpec = "localhost:8443".parse().unwrap();
        assert_eq!(named.addr.port(), 8443);
    }

    #[test]
    fn refuses_bad_ids_and_addresses() {
        assert!(matches!(
            "abc@127.0.0.1:1".parse::<NodeSpec>(),
            Err(NodeSpecError::BadNodeId(id)) if id == "abc"
        ));
        assert!(matches!(
            "127.0.0.1".parse::<NodeSpec>(),
            Err(NodeSpecError::BadAddress { .. })
        ));
    }
}
