//! Running a job's subtasks on the slots of this process: each slot rebuilds the job from
//! its builder, checks that it built the same graph, and spawns its tasks. Used by the
//! embedded cluster and by TaskManager processes alike.

use super::job::TaskReport;
use super::local::JobBuilder;
use super::plan::ExchangeSettings;
use crate::api::StreamEnv;
use crate::config::{ConfigError, Configuration};
use crate::error::{Retry, TaskError};
use crate::exchange::InputGate;
use crate::graph::JobGraph;
use crate::task::build::{build_task, TaskSettings};
use crate::task::deploy::TaskDeployment;
use crate::task::run::{run_task, TaskEnv};
use futures_lite::FutureExt;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// Per-job settings taken from the configuration.
#[derive(Debug, Clone, Copy)]
pub(crate) struct JobSettings {
    pub(crate) exchange: ExchangeSettings,
    pub(crate) task: TaskSettings,
    pub(crate) buffer_timeout: Duration,
}

impl JobSettings {
    pub(crate) fn from_config(config: &Configuration) -> Result<Self, ConfigError> {
        let buffer_timeout = config.buffer_timeout()?;
        Ok(JobSettings {
            exchange: ExchangeSettings {
                buffers_per_channel: config.buffers_per_channel()?,
                buffer_size: config.segment_size()?,
            },
            task: TaskSettings {
                buffer_timeout_ms: whole_ms(buffer_timeout),
                auto_watermark_interval_ms: config.auto_watermark_interval()?.as_millis().max(1)
                    as u64,
                latency_interval_ms: whole_ms(config.latency_interval()?),
                flush_on_idle: config.flush_on_idle()?,
            },
            buffer_timeout,
        })
    }
}

/// `d` in whole milliseconds, at least 1 unless it is zero (which means "off" or "every
/// record" to the settings that take it).
fn whole_ms(d: Duration) -> u64 {
    if d.is_zero() {
        0
    } else {
        (d.as_millis() as u64).max(1)
    }
}

/// Everything one slot needs to run its part of a job (`Send`).
pub(crate) struct SlotDeploy {
    pub(crate) name: String,
    pub(crate) builder: JobBuilder,
    pub(crate) graph: Arc<JobGraph>,
    pub(crate) parallelism: u32,
    pub(crate) max_parallelism: u32,
    pub(crate) deployments: Vec<TaskDeployment>,
    pub(crate) reports: flume::Sender<TaskReport>,
    /// Called on the slot's thread for each task that was built and is about to run
    /// (before it can report its end).
    pub(crate) on_started: Option<Arc<dyn Fn(u32, u32) + Send + Sync>>,
    pub(crate) cancel: Arc<AtomicBool>,
    pub(crate) settings: TaskSettings,
    pub(crate) buffer_timeout: Duration,
}

impl SlotDeploy {
    /// Runs on the slot's thread: rebuilds the job, checks it is the same, spawns the tasks.
    pub(crate) fn run(self) {
        let fail_all = |msg: String| {
            for d in &self.deployments {
                let _ = self.reports.send(TaskReport {
                    vertex: d.vertex,
                    subtask: d.subtask,
                    outcome: Err(TaskError::new(msg.clone(), Retry::Never)),
                });
            }
        };
        let mut env = StreamEnv::new(&self.name, self.parallelism, self.max_parallelism);
        let rebuilt = (self.builder)(&mut env).and_then(|_| env.build());
        let (graph, runtimes) = match rebuilt {
            Ok(r) => r,
            Err(e) => return fail_all(format!("rebuilding the job on a slot failed: {e}")),
        };
        if graph.fingerprint() != self.graph.fingerprint() {
            return fail_all(
                "the job's builder is not deterministic: it built a different graph on a slot"
                    .into(),
            );
        }
        let runtimes = std::rc::Rc::new(runtimes);
        for mut d in self.deployments {
            let (vertex, subtask) = (d.vertex, d.subtask);
            let report = self.reports.clone();
            let env = TaskEnv {
                cancel: self.cancel.clone(),
                metrics: d.metrics.clone(),
                buffer_timeout: self.buffer_timeout,
                flush_on_idle: self.settings.flush_on_idle,
            };
            let built = build_task(&graph, &runtimes, &mut d, self.settings);
            let gate = d
                .gate
                .clone()
                .map(|g| InputGate::new(g, d.inputs.iter().map(|(c, _)| c.clone()).collect()));
            let inputs: Vec<u8> = d.inputs.iter().map(|(_, i)| *i).collect();
            let remote_inputs = std::mem::take(&mut d.remote_inputs);
            let cancel = self.cancel.clone();
            let runtimes = runtimes.clone();
            if let (Ok(_), Some(started)) = (&built, &self.on_started) {
                started(vertex, subtask);
            }
            crate::slot::spawn_local(async move {
                let _keep = (runtimes, remote_inputs);
                let outcome = match built {
                    Ok(task) => std::panic::AssertUnwindSafe(run_task(task, gate, inputs, env))
                        .catch_unwind()
                        .await
                        .unwrap_or_else(|p| {
                            Err(TaskError::new(
                                format!(
                                    "task panicked: {}",
                                    crate::operator::context::panic_message(&*p)
                                ),
                                Retry::Never,
                            ))
                        }),
                    Err(e) => Err(e),
                };
                if outcome.is_err() {
                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                }
                let _ = report.send(TaskReport {
                    vertex,
                    subtask,
                    outcome,
                });
            });
        }
    }
}
