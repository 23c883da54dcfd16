//! Which boxes of a cluster keep which cell columns: rendezvous (highest-random-weight) hashing.
//!
//! Column `c` (cell index `c` of every chunk) is kept by the [`CUSTODY_REPLICATION`] nodes with
//! the highest score `BLAKE3-derive_key("appliance-da custody v1", node id || u16_le(c))`, first
//! 8 bytes as a little-endian u64 (ties broken by node id). Every box computes the same answer
//! from the same node ids, with no coordination; a node joining or leaving moves only the
//! columns it gains or held, and each node keeps about `128 x 2 / N` columns.

use crate::limits::{CELLS_PER_CHUNK, CUSTODY_REPLICATION};

/// BLAKE3 key-derivation context of custody scores; changing it reshuffles every column.
const CUSTODY_CONTEXT: &str = "appliance-da custody v1";

fn score(node: &str, column: u16) -> u64 {
    let mut hasher = blake3::Hasher::new_derive_key(CUSTODY_CONTEXT);
    hasher.update(node.as_bytes());
    hasher.update(&column.to_le_bytes());
    let hash = hasher.finalize();
    u64::from_le_bytes(hash.as_bytes()[..8].try_into().expect("8 bytes"))
}

/// The nodes (among `nodes`, duplicates ignored) that keep column `column`, highest score
/// first: [`CUSTODY_REPLICATION`] of them, or all when there are fewer.
pub fn custodians(column: u16, nodes: &[String]) -> Vec<&str> {
    let mut ranked: Vec<(u64, &str)> = nodes
        .iter()
        .map(|n| (score(n, column), n.as_str()))
        .collect();
    ranked.sort_unstable_by(|a, b| b.cmp(a));
    ranked.dedup_by(|a, b| a.1 == b.1);
    ranked
        .into_iter()
        .take(CUSTODY_REPLICATION)
        .map(|(_, n)| n)
        .collect()
}

/// The columns `node` keeps in a cluster of `nodes` (which should include it), ascending.
pub fn columns_of(node: &str, nodes: &[String]) -> Vec<u16> {
    (0..CELLS_PER_CHUNK as u16)
        .filter(|&c| custodians(c, nodes).contains(&node))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("node-{i}")).collect()
    }

    #[test]
    fn every_column_has_two_distinct_custodians_and_the_load_is_even() {
        let all = nodes(5);
        let mut load = vec![0usize; all.len()];
        for c in 0..CELLS_PER_CHUNK as u16 {
            let keepers = custodians(c, &all);
            assert_eq!(keepers.len(), 2);
            assert_ne!(keepers[0], keepers[1]);
            for k in keepers {
                load[all.iter().position(|n| n == k).unwrap()] += 1;
            }
        }
        assert_eq!(load.iter().sum::<usize>(), 256);
        for (node, &n) in all.iter().zip(&load) {
            // 51.2 expected; a fair hash stays well inside this band.
            assert!((30..=75).contains(&n), "{node} keeps {n} columns");
            assert_eq!(columns_of(node, &all).len(), n);
        }
    }

    #[test]
    fn assignment_is_deterministic_and_order_free() {
        let all = nodes(4);
        let mut reversed = all.clone();
        reversed.reverse();
        for node in &all {
            assert_eq!(columns_of(node, &all), columns_of(node, &reversed));
        }
        assert!(columns_of("stranger", &all).is_empty());
    }

    #[test]
    fn small_clusters_keep_everything_everywhere() {
        let one = nodes(1);
        assert_eq!(columns_of("node-0", &one).len(), CELLS_PER_CHUNK);
        let two = nodes(2);
        assert_eq!(columns_of("node-1", &two).len(), CELLS_PER_CHUNK);
        let doubled = vec!["a".to_owned(), "a".to_owned()];
        assert_eq!(custodians(3, &doubled), ["a"]);
    }

    #[test]
    fn a_joining_node_only_takes_columns() {
        let before = nodes(4);
        let after = nodes(5);
        for c in 0..CELLS_PER_CHUNK as u16 {
            let old = custodians(c, &before);
            let new = custodians(c, &after);
            for keeper in &new {
                assert!(
                    *keeper == "node-4" || old.contains(keeper),
                    "column {c} moved from {old:?} to {new:?}"
                );
            }
        }
    }
}
