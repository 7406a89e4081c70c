//! Checks that a job graph can run, with an error that names the operator at fault.

use super::{JobGraph, NodeKind, Partitioning};
use std::collections::HashMap;

/// A job that cannot be built or run as described.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum BuildError {
    /// The edges form a cycle.
    #[error("the job graph has a cycle through operator '{operator}'")]
    Cycle {
        /// An operator on the cycle.
        operator: String,
    },
    /// A forward edge joins operators of different parallelism.
    #[error("forward edge from '{from}' (parallelism {from_parallelism}) to '{to}' (parallelism {to_parallelism}): forward needs equal parallelism; use rebalance() or rescale()")]
    ForwardParallelism {
        /// Producer.
        from: String,
        /// Its parallelism.
        from_parallelism: u32,
        /// Consumer.
        to: String,
        /// Its parallelism.
        to_parallelism: u32,
    },
    /// A keyed operator reads a stream that is not partitioned by key.
    #[error("operator '{operator}' uses keyed state or timers but its input from '{input}' is not keyed; call key_by() first")]
    NotKeyed {
        /// The keyed operator.
        operator: String,
        /// The producer of the unkeyed input.
        input: String,
    },
    /// The job writes nowhere.
    #[error("the job '{job}' has no sink: add one (print, collect, file or discard)")]
    NoSink {
        /// Job name.
        job: String,
    },
    /// Two operators claim the same uid.
    #[error("operators '{first}' and '{second}' have the same uid '{uid}'; uids must be unique")]
    DuplicateUid {
        /// The uid.
        uid: String,
        /// First operator.
        first: String,
        /// Second operator.
        second: String,
    },
    /// A parallelism out of range.
    #[error("operator '{operator}': parallelism {parallelism} must be from 1 to its max parallelism {max_parallelism}")]
    Parallelism {
        /// The operator.
        operator: String,
        /// Its parallelism.
        parallelism: u32,
        /// Its max parallelism.
        max_parallelism: u32,
    },
    /// An edge names a node that does not exist, or an operator has the wrong inputs.
    #[error("operator '{operator}': {reason}")]
    Malformed {
        /// The operator.
        operator: String,
        /// What is wrong.
        reason: String,
    },
    /// The job's own arguments or builder rejected the job.
    #[error("{0}")]
    Job(String),
}

/// Validates a graph (its nodes; chaining is computed afterwards).
pub fn validate(g: &JobGraph) -> Result<(), BuildError> {
    let name = |id: u32| {
        g.nodes
            .get(id as usize)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| format!("#{id}"))
    };
    let mut uids: HashMap<&str, &str> = HashMap::new();
    for (i, n) in g.nodes.iter().enumerate() {
        let malformed = |reason: String| BuildError::Malformed {
            operator: n.name.clone(),
            reason,
        };
        if n.id as usize != i {
            return Err(malformed(format!("id {} at position {i}", n.id)));
        }
        if n.parallelism == 0 || n.parallelism > n.max_parallelism {
            return Err(BuildError::Parallelism {
                operator: n.name.clone(),
                parallelism: n.parallelism,
                max_parallelism: n.max_parallelism,
            });
        }
        if let Some(first) = uids.insert(&n.uid, &n.name) {
            return Err(BuildError::DuplicateUid {
                uid: n.uid.clone(),
                first: first.into(),
                second: n.name.clone(),
            });
        }
        let wants_inputs: &[u8] = match n.kind {
            NodeKind::Source => &[],
            NodeKind::OneInput | NodeKind::Sink => &[0],
            NodeKind::TwoInput => &[0, 1],
        };
        for want in wants_inputs {
            if !n.inputs.iter().any(|e| e.input == *want) {
                return Err(malformed(format!("input {want} is not connected")));
            }
        }
        for e in &n.inputs {
            let Some(src) = g.nodes.get(e.source as usize) else {
                return Err(malformed(format!(
                    "input from unknown operator #{}",
                    e.source
                )));
            };
            if !wants_inputs.contains(&e.input) {
                return Err(malformed(format!("has no input {}", e.input)));
            }
            if src.kind == NodeKind::Sink {
                return Err(malformed(format!("reads from sink '{}'", src.name)));
            }
            if e.partitioning == Partitioning::Default {
                return Err(malformed(format!(
                    "edge from '{}' has unresolved partitioning",
                    src.name
                )));
            }
            if e.partitioning == Partitioning::Forward && src.parallelism != n.parallelism {
                return Err(BuildError::ForwardParallelism {
                    from: src.name.clone(),
                    from_parallelism: src.parallelism,
                    to: n.name.clone(),
                    to_parallelism: n.parallelism,
                });
            }
            if n.keyed && e.partitioning != Partitioning::Hash {
                return Err(BuildError::NotKeyed {
                    operator: n.name.clone(),
                    input: src.name.clone(),
                });
            }
        }
    }
    check_acyclic(g).map_err(|id| BuildError::Cycle { operator: name(id) })?;
    for n in &g.nodes {
        if let Some(e) = n.inputs.iter().find(|e| e.source >= n.id) {
            return Err(BuildError::Malformed {
                operator: n.name.clone(),
                reason: format!(
                    "input '{}' must come before it in the node list",
                    name(e.source)
                ),
            });
        }
    }
    if !g.nodes.iter().any(|n| n.kind == NodeKind::Sink) {
        return Err(BuildError::NoSink {
            job: g.name.clone(),
        });
    }
    Ok(())
}

/// Kahn's algorithm; returns a node on a cycle if there is one.
fn check_acyclic(g: &JobGraph) -> Result<(), u32> {
    let n = g.nodes.len();
    let mut indegree = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for node in &g.nodes {
        for e in &node.inputs {
            indegree[node.id as usize] += 1;
            out[e.source as usize].push(node.id as usize);
        }
    }
    let mut ready: Vec<usize> = (0..n).filter(|i| indegree[*i] == 0).collect();
    let mut seen = 0;
    while let Some(i) = ready.pop() {
        seen += 1;
        for &j in &out[i] {
            indegree[j] -= 1;
            if indegree[j] == 0 {
                ready.push(j);
            }
        }
    }
    if seen == n {
        Ok(())
    } else {
        Err((0..n).find(|i| indegree[*i] > 0).unwrap_or(0) as u32)
    }
}
