//! strom's side: a session cluster of real processes (`strom jobmanager`, `strom
//! taskmanager`) started from the `--strom` binary, with its ports chosen by the system.

use super::http::Rest;
use super::measure::{self, Submit};
use super::procs::Proc;
use super::{ClusterArgs, Session};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A running strom session cluster; its processes stop when it is dropped.
pub struct StromCluster {
    // Field order is drop order: TaskManagers first.
    tms: Vec<Proc>,
    jm: Proc,
    pub rest: Rest,
    pub rpc: String,
    pub slots: u64,
    pub config: Value,
    strom: PathBuf,
    logs: PathBuf,
    job: String,
    job_args: Vec<String>,
}

impl StromCluster {
    /// Starts a JobManager and one TaskManager with `slots` slots; `-D` settings `jm_conf`
    /// for the JobManager, `tm_conf` for the TaskManager. Returns once the slots are free.
    pub fn start(
        strom: &Path,
        logs: &Path,
        tag: &str,
        slots: u64,
        tm_conf: &[&str],
        timeout: Duration,
    ) -> Result<StromCluster, String> {
        let deadline = Instant::now() + timeout;
        let jm_conf = ["rest.port=0", "jobmanager.rpc.port=0"];
        let mut cmd = Command::new(strom);
        cmd.arg("jobmanager");
        for d in jm_conf {
            cmd.args(["-D", d]);
        }
        let mut jm = Proc::spawn(
            &format!("strom jobmanager ({tag})"),
            cmd,
            &logs.join(format!("strom-{tag}-jobmanager.log")),
        )?;
        // "JobManager ready: rpc=HOST:PORT rest=http://HOST:PORT"
        let line = jm.wait_line("JobManager ready:", deadline)?;
        let field = |k: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(k))
                .map(str::to_string)
                .ok_or_else(|| format!("no {k} in {line:?}"))
        };
        let rpc = field("rpc=")?;
        let rest = Rest::new(&field("rest=")?)?;
        let mut cmd = Command::new(strom);
        cmd.args([
            "taskmanager",
            "--jobmanager",
            &rpc,
            "--slots",
            &slots.to_string(),
        ]);
        for d in tm_conf {
            cmd.args(["-D", d]);
        }
        let mut tm = Proc::spawn(
            &format!("strom taskmanager ({tag})"),
            cmd,
            &logs.join(format!("strom-{tag}-taskmanager.log")),
        )?;
        tm.wait_line("TaskManager ready:", deadline)?;
        measure::wait_slots(
            &rest,
            slots,
            deadline.saturating_duration_since(Instant::now()),
        )?;
        Ok(StromCluster {
            config: json!({
                "jobmanager": jm_conf,
                "taskmanagers": 1,
                "slots": slots,
                "taskmanager": tm_conf,
            }),
            tms: vec![tm],
            jm,
            rest,
            rpc,
            slots,
            strom: strom.to_path_buf(),
            logs: logs.to_path_buf(),
            job: String::new(),
            job_args: Vec::new(),
        })
    }
}

impl Session for StromCluster {
    fn rest(&self) -> &Rest {
        &self.rest
    }

    fn jm_pid(&self) -> u32 {
        self.jm.pid()
    }

    fn tm_pid(&self) -> u32 {
        self.tms[0].pid()
    }

    fn config(&self) -> Value {
        self.config.clone()
    }

    /// `strom run -m HOST:PORT -d -p P keyed-window …` as a process.
    fn cli(&mut self, parallelism: u32, n: usize) -> Result<Submit, String> {
        let mut cmd = Command::new(&self.strom);
        cmd.args(["run", "-m", self.rest.host_port(), "-d", "-p"])
            .arg(parallelism.to_string())
            .arg(&self.job)
            .args(&self.job_args);
        Ok(Submit::Cli {
            name: "strom run".into(),
            cmd,
            log: self.logs.join(format!("strom-run-{n}.log")),
        })
    }

    /// `POST /jobs` with the same job.
    fn post(&mut self, parallelism: u32) -> Result<Submit, String> {
        Ok(Submit::Post {
            path: "/jobs".into(),
            body: json!({
                "job": self.job,
                "args": self.job_args,
                "parallelism": parallelism,
                "config": {},
            }),
        })
    }

    /// Stops the TaskManagers, then the JobManager (SIGTERM, SIGKILL after 5 s).
    fn stop(mut self: Box<Self>) {
        for tm in &mut self.tms {
            tm.stop(Duration::from_secs(5));
        }
        self.jm.stop(Duration::from_secs(5));
    }
}

/// The job's arguments (`--records N --rate R`).
fn job_args(args: &ClusterArgs) -> Vec<String> {
    vec![
        "--records".into(),
        args.records.to_string(),
        "--rate".into(),
        args.rate.to_string(),
    ]
}

/// The CLI command line a user types, for the report.
pub fn cli_line(args: &ClusterArgs) -> String {
    format!(
        "{} run -m HOST:PORT -d -p {} {} {}",
        args.strom.display(),
        args.parallelism,
        args.job,
        job_args(args).join(" ")
    )
}

/// Starts the cluster of a part: `submit` (one TaskManager with `slots` slots, default
/// configuration) or `many` (slots not pinned to CPUs, 16 MiB of network memory).
pub fn start(
    args: &ClusterArgs,
    logs: &Path,
    tag: &str,
    slots: u64,
) -> Result<Box<dyn Session>, String> {
    let conf: &[&str] = if tag == "many" {
        &[
            "taskmanager.slot.pin-cpus=false",
            "taskmanager.memory.network.max=16mb",
        ]
    } else {
        &[]
    };
    let mut c = StromCluster::start(
        &args.strom,
        logs,
        tag,
        slots,
        conf,
        Duration::from_secs(args.timeout_secs),
    )?;
    c.job = args.job.clone();
    c.job_args = job_args(args);
    Ok(Box::new(c))
}
