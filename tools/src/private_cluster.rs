//! A cluster of child processes that belongs to one command: the job cluster of
//! `strom run --target job-cluster` and the application cluster of `strom application`.
//! Its processes are killed when it is dropped; their logs stay in a directory that is
//! named on failure.

use crate::cli::ConfigArgs;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

/// A JobManager and TaskManagers started as child processes.
pub(crate) struct PrivateCluster {
    jm: Child,
    /// Disconnected once everything the JobManager printed is in `jobmanager.out`.
    jm_out_done: Receiver<()>,
    tms: Vec<Child>,
    /// The REST API, `HOST:PORT`.
    pub(crate) rest: String,
    /// The JobManager's RPC endpoint, `HOST:PORT`.
    pub(crate) rpc: String,
    /// Where the processes' logs are.
    pub(crate) logs: PathBuf,
}

impl PrivateCluster {
    /// Starts a JobManager (with `jm_args` after the shared flags) on free ports and
    /// `taskmanagers` TaskManagers with `slots` slots each; returns once they registered.
    pub(crate) fn start(
        cfg: &ConfigArgs,
        taskmanagers: u32,
        slots: u32,
        jm_args: &[String],
    ) -> Result<PrivateCluster, String> {
        let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
        let logs = std::env::temp_dir().join(format!("strom-cluster-{}", std::process::id()));
        std::fs::create_dir_all(&logs)
            .map_err(|e| format!("cannot create {}: {e}", logs.display()))?;
        let mut shared: Vec<String> = Vec::new();
        if let Some(c) = &cfg.config {
            shared.extend(["--config".into(), c.display().to_string()]);
        }
        for d in &cfg.dynamic {
            shared.extend(["-D".into(), d.clone()]);
        }
        let mut jm_cmd = Command::new(&exe);
        jm_cmd
            .arg("jobmanager")
            .args(&shared)
            .args(["-D", "rest.port=0", "-D", "jobmanager.rpc.port=0"])
            .args(jm_args);
        let (jm, ready, jm_out_done) = spawn_ready(jm_cmd, &logs, "jobmanager")?;
        let field = |key: &str| {
            ready
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .map(str::to_string)
                .ok_or_else(|| format!("unexpected JobManager ready line: {ready}"))
        };
        let rest = field("rest=")?.trim_start_matches("http://").to_string();
        let rpc = field("rpc=")?;
        let mut cluster = PrivateCluster {
            jm,
            jm_out_done,
            tms: Vec::new(),
            rest,
            rpc: rpc.clone(),
            logs,
        };
        for i in 0..taskmanagers {
            let mut cmd = Command::new(&exe);
            cmd.args([
                "taskmanager",
                "--jobmanager",
                &rpc,
                "--slots",
                &slots.to_string(),
            ])
            .args(&shared);
            let (tm, _, _) = spawn_ready(cmd, &cluster.logs, &format!("taskmanager-{i}"))?;
            cluster.tms.push(tm);
        }
        let client = crate::client::RestClient::new(&cluster.rest).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(o) = client.get("/overview") {
                if o["taskmanagers"].as_u64() == Some(u64::from(taskmanagers)) {
                    return Ok(cluster);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "the cluster's TaskManagers did not register within 30 s; logs in {}",
                    cluster.logs.display()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the JobManager process to end (application mode: it ends with the
    /// application).
    /// Waits for the JobManager to exit, then (bounded) for its output to reach
    /// `jobmanager.out`, so that the caller reads all of it.
    pub(crate) fn wait_jobmanager(&mut self) -> Result<ExitStatus, String> {
        let status = self
            .jm
            .wait()
            .map_err(|e| format!("waiting for the JobManager: {e}"))?;
        // The reader ends at the pipe's end of file, which the exit gives unless another
        // process still holds the pipe: then stop waiting after a while.
        let _ = self.jm_out_done.recv_timeout(Duration::from_secs(5));
        Ok(status)
    }
}

impl Drop for PrivateCluster {
    fn drop(&mut self) {
        for c in self.tms.iter_mut().chain(std::iter::once(&mut self.jm)) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Starts `cmd` with its stderr in `logs/name.log` and waits (at most 30 s) for the ready
/// line on its stdout; the rest of its stdout goes to the log's neighbour `name.out`.
fn spawn_ready(
    mut cmd: Command,
    logs: &std::path::Path,
    name: &str,
) -> Result<(Child, String, Receiver<()>), String> {
    let log = logs.join(format!("{name}.log"));
    let err =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the {name}: {e}"))?;
    let Some(stdout) = child.stdout.take() else {
        let _ = child.kill();
        return Err(format!("the {name} has no stdout"));
    };
    let (tx, rx) = std::sync::mpsc::channel();
    // Never sent on: dropped when the reader has written the last line.
    let (done_tx, done) = std::sync::mpsc::channel::<()>();
    let out_path = logs.join(format!("{name}.out"));
    std::thread::spawn(move || {
        let _done = done_tx;
        let mut lines = BufReader::new(stdout).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        let mut rest = String::new();
        for l in lines.map_while(Result::ok) {
            rest.push_str(&l);
            rest.push('\n');
            let _ = std::fs::write(&out_path, &rest);
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => Ok((child, line, done)),
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            Err(format!("the {name} did not start; see {}", log.display()))
        }
    }
}
