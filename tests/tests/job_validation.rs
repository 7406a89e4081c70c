//! Every validation error, with a message that names the operator; a job whose builder
//! builds a different graph on the slots than at planning is refused.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
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

/// A builder that builds one graph when the job is planned and another on the slots (here
/// a counter it captures picks an operator's name or parallelism) is refused: the slots
/// compare the graph they rebuilt with the planned one's fingerprint and fail the job
/// saying so, instead of running tasks the plan does not describe.
#[test]
fn non_deterministic_builder_is_refused_on_the_slots() {
    let c = cluster(2);
    for changes in ["the operator's name", "the parallelism"] {
        let calls = Arc::new(AtomicU32::new(0));
        let n = calls.clone();
        let err = c
            .execute("moving-target", move |env| {
                let first = n.fetch_add(1, Ordering::SeqCst) == 0;
                let s = env.from_sequence(0, 1_000).set_parallelism(1);
                let s = if changes == "the parallelism" {
                    s.map(|x| x + 1).set_parallelism(if first { 2 } else { 1 })
                } else {
                    s.map(|x| x + 1)
                        .name(if first { "Planned" } else { "Rebuilt" })
                };
                s.discard();
                Ok(())
            })
            .unwrap()
            .wait()
            .err()
            .unwrap_or_else(|| panic!("a job whose builder changes {changes} ran"));
        match &err {
            JobError::Failed { error, .. } => assert!(
                error.message().contains("builder is not deterministic")
                    && error.message().contains("different graph"),
                "{changes}: {err}"
            ),
            other => panic!("{changes}: expected a task failure, got {other}"),
        }
        assert!(
            calls.load(Ordering::SeqCst) > 1,
            "the slots rebuilt the job"
        );
    }
    // The cluster still runs a job whose builder is deterministic.
    c.execute("steady", |env| {
        env.from_sequence(0, 10).set_parallelism(1).discard();
        Ok(())
    })
    .unwrap()
    .wait()
    .unwrap();
}
