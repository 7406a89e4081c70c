//! Every validation error, with a message that names the operator.

use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::JobError;
use strom_runtime::graph::{
    BuildError, Chaining, JobGraph, NodeKind, Partitioning, StreamEdge, StreamNode,
};
use strom_tests::cluster;

fn node(id: u32, kind: NodeKind, inputs: Vec<(u32, Partitioning)>, keyed: bool) -> StreamNode {
    StreamNode {
        id,
        name: format!("op{id}"),
        uid: format!("uid{id}"),
        kind,
        parallelism: 2,
        max_parallelism: 128,
        inputs: inputs
            .into_iter()
            .map(|(s, p)| StreamEdge {
                source: s,
                input: 0,
                partitioning: p,
                side_output: None,
            })
            .collect(),
        chaining: Chaining::Always,
        keyed,
    }
}

fn graph(nodes: Vec<StreamNode>) -> JobGraph {
    JobGraph {
        name: "t".into(),
        nodes,
        vertices: vec![],
    }
}

#[test]
fn cycle() {
    let g = graph(vec![
        node(
            0,
            NodeKind::OneInput,
            vec![(1, Partitioning::Rebalance)],
            false,
        ),
        node(
            1,
            NodeKind::OneInput,
            vec![(0, Partitioning::Rebalance)],
            false,
        ),
        node(2, NodeKind::Sink, vec![(1, Partitioning::Rebalance)], false),
    ]);
    assert!(matches!(
        strom_runtime::graph::validate(&g),
        Err(BuildError::Cycle { .. })
    ));
}

#[test]
fn forward_between_different_parallelisms() {
    let e = StreamEnv::new("j", 2, 128);
    let mut env = e;
    env.from_sequence(0, 10)
        .forward()
        .map(|x| x)
        .set_parallelism(3)
        .discard();
    let err = env.into_graph().unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::ForwardParallelism {
                from_parallelism: 2,
                to_parallelism: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("Sequence Source"), "{err}");
}

#[test]
fn keyed_operator_on_unkeyed_stream() {
    let g = graph(vec![
        node(0, NodeKind::Source, vec![], false),
        node(
            1,
            NodeKind::OneInput,
            vec![(0, Partitioning::Rebalance)],
            true,
        ),
        node(2, NodeKind::Sink, vec![(1, Partitioning::Forward)], false),
    ]);
    let err = strom_runtime::graph::validate(&g).unwrap_err();
    assert_eq!(
        err,
        BuildError::NotKeyed {
            operator: "op1".into(),
            input: "op0".into()
        }
    );
}

#[test]
fn job_without_sink() {
    let mut env = StreamEnv::new("no-sink", 1, 128);
    let _ = env.from_sequence(0, 10).map(|x| x + 1);
    assert_eq!(
        env.into_graph().unwrap_err(),
        BuildError::NoSink {
            job: "no-sink".into()
        }
    );
}

#[test]
fn duplicate_uid() {
    let mut env = StreamEnv::new("j", 1, 128);
    env.from_sequence(0, 10)
        .uid("same")
        .map(|x| x + 1)
        .uid("same")
        .discard();
    let err = env.into_graph().unwrap_err();
    assert!(
        matches!(err, BuildError::DuplicateUid { ref uid, .. } if uid == "same"),
        "{err}"
    );
}

#[test]
fn parallelism_beyond_max() {
    let mut env = StreamEnv::new("j", 1, 128);
    env.from_sequence(0, 10)
        .set_max_parallelism(4)
        .set_parallelism(8)
        .discard();
    assert!(matches!(
        env.into_graph().unwrap_err(),
        BuildError::Parallelism {
            parallelism: 8,
            max_parallelism: 4,
            ..
        }
    ));
}

#[test]
fn not_enough_slots_is_reported_before_running() {
    let c = cluster(2);
    let err = c
        .execute("wide", |env| {
            env.from_sequence(0, 10).set_parallelism(5).discard();
            Ok(())
        })
        .err()
        .expect("refused");
    assert!(
        matches!(
            err,
            JobError::NotEnoughSlots {
                needed: 5,
                available: 2,
                ..
            }
        ),
        "{err}"
    );
}
