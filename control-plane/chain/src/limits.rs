//! Every limit of chain registration, each with the reason for its value.

use std::time::Duration;

/// One JSON-RPC request may take this long before the endpoint counts as unreachable: a loaded
/// public endpoint answers within a few seconds; longer means stalled, so fail over.
pub const RPC_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Blocks an endpoint's head may trail the highest head seen from any endpoint before it counts as
/// lagging and the next endpoint is used: a few blocks is normal propagation jitter.
pub const MAX_HEAD_LAG_BLOCKS: u64 = 5;

/// Confirmations a transaction needs by default before a box counts as registered: 0G Chain and
/// most EVM chains with fast finality do not reorganise deeper than this in practice.
pub const DEFAULT_CONFIRMATIONS: u64 = 3;

/// A submitted transaction that has not been mined for this long is re-sent with bumped fees.
pub const DEFAULT_REPLACE_AFTER: Duration = Duration::from_secs(30);

/// How often `Registrar::wait_settled` polls the chain: a fraction of a typical block time.
pub const SETTLE_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// Fee caps of a replacement, in thousandths of the replaced ones (112.5%): geth and most nodes
/// refuse a replacement unless both caps rise by at least 10%; 12.5% clears that with margin and
/// matches the largest EIP-1559 base-fee step per block.
pub const REPLACEMENT_FEE_PER_MILLE: u128 = 1125;

/// Gas limit headroom over the node's estimate, in percent: storage writes can cost slightly more
/// when state changes between estimate and inclusion.
pub const GAS_LIMIT_HEADROOM_PERCENT: u64 = 120;

/// Replacements of one transaction before fees stop rising (the box then shows an error and
/// waits): each bumps fees by 12.5%, so ten raise them about 3.2x, beyond which a human should
/// look at the fee market rather than the registrar paying ever more.
pub const MAX_REPLACEMENTS: usize = 10;

/// Longest endpoint string the contract accepts (`MAX_ENDPOINT_LENGTH` in NodeRegistry.sol).
pub const MAX_ENDPOINT_LENGTH: usize = 256;

/// Longest zone label the contract accepts (`MAX_ZONE_LENGTH` in NodeRegistry.sol).
pub const MAX_ZONE_LENGTH: usize = 64;

/// How long the local test chain may take to open its RPC port after it is started.
pub const ANVIL_START_TIMEOUT: Duration = Duration::from_secs(20);
