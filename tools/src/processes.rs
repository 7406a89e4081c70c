//! `strom jobmanager`, `strom taskmanager` and `strom cluster start|stop`: the cluster's
//! processes, in the foreground or as a local session cluster in the background.

use crate::cli::ConfigArgs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};
use strom_runtime::config::Configuration;
use strom_runtime::registry::JobRegistry;
use strom_runtime::taskmanager::{TaskManager, TaskManagerOptions};
use strom_scheduler::{JobManager, JobManagerOptions};

/// Runs a JobManager in the foreground until the process is stopped, or, in application
/// mode (`application` = a job and its arguments), until the application's job ends.
pub(crate) fn jobmanager(
    jobs: &JobRegistry,
    cfg: &ConfigArgs,
    application: &[String],
) -> Result<(), String> {
    let config = cfg.load()?;
    let jm = JobManager::start(JobManagerOptions {
        config,
        registry: jobs.clone(),
    })
    .map_err(|e| e.to_string())?;
    // One machine-readable line for scripts and `strom cluster start`.
    println!(
        "JobManager ready: rpc={} rest=http://{}",
        jm.rpc_address(),
        jm.rest_address()
    );
    if let [job, args @ ..] = application {
        let result = crate::modes::run_application(jm.api().as_ref(), job, args);
        jm.stop();
        return result;
    }
    jm.wait();
    Ok(())
}

/// Runs a TaskManager in the foreground until it stops.
pub(crate) fn taskmanager(
    jobs: &JobRegistry,
    cfg: &ConfigArgs,
    jobmanager: Option<&str>,
    slots: Option<u32>,
) -> Result<(), String> {
    let mut config = cfg.load()?;
    if let Some(n) = slots {
        config
            .set("taskmanager.numberOfTaskSlots", &n.to_string(), "--slots")
            .map_err(|e| e.to_string())?;
    }
    let jm = match jobmanager {
        Some(a) => resolve(a).map_err(|e| format!("--jobmanager {a}: {e}"))?,
        None => config.jobmanager_rpc().map_err(|e| e.to_string())?,
    };
    let tm = TaskManager::start(TaskManagerOptions {
        jobmanager: jm,
        config,
        registry: jobs.clone(),
        stop: Arc::new(AtomicBool::new(false)),
    })
    .map_err(|e| e.to_string())?;
    println!(
        "TaskManager ready: data={} jobmanager={jm}",
        tm.data_address()
    );
    tm.run().map_err(|e| e.to_string())
}

fn resolve(address: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    address
        .to_socket_addrs()
        .map_err(|e| format!("not a HOST:PORT address ({e})"))?
        .next()
        .ok_or_else(|| "the host does not resolve".to_string())
}

/// The directory of a local session cluster's pid and log files.
pub(crate) fn cluster_dir(dir: Option<&Path>) -> PathBuf {
    dir.map(Path::to_path_buf)
        .or_else(|| std::env::var_os("STROM_CLUSTER_DIR").map(PathBuf::from))
        .unwrap_or_else(|| std::env::temp_dir().join("strom-cluster"))
}

/// Starts a JobManager and `taskmanagers` TaskManagers in the background, with pid and log
/// files in `dir`, and waits until they have all registered.
pub(crate) fn cluster_start(
    cfg: &ConfigArgs,
    dir: &Path,
    taskmanagers: u32,
    slots: u32,
) -> Result<(), String> {
    let config = cfg.load()?;
    if dir.join("jobmanager.pid").exists() {
        return Err(format!(
            "a cluster seems to run already ({} exists); stop it with `strom cluster stop`",
            dir.join("jobmanager.pid").display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find this binary: {e}"))?;
    let mut base: Vec<String> = Vec::new();
    if let Some(c) = &cfg.config {
        base.push("--config".into());
        base.push(c.display().to_string());
    }
    for d in &cfg.dynamic {
        base.push("-D".into());
        base.push(d.clone());
    }
    let jm_pid = spawn(&exe, &["jobmanager"], &base, dir, "jobmanager")?;
    let rpc = config.jobmanager_rpc().map_err(|e| e.to_string())?;
    let rest = config.rest_address().map_err(|e| e.to_string())?;
    let mut tm_args = vec![
        "taskmanager".to_string(),
        "--jobmanager".into(),
        rpc.to_string(),
        "--slots".into(),
        slots.to_string(),
    ];
    tm_args.extend(base.iter().cloned());
    for i in 0..taskmanagers {
        let refs: Vec<&str> = tm_args.iter().map(String::as_str).collect();
        spawn(&exe, &refs, &[], dir, &format!("taskmanager-{i}"))?;
    }
    let client = crate::client::RestClient::new(&rest.to_string()).map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.get("/overview") {
            Ok(o) if o["taskmanagers"].as_u64().unwrap_or(0) >= u64::from(taskmanagers) => {
                println!(
                    "Started a session cluster: JobManager (pid {jm_pid}) REST http://{rest}, RPC {rpc}; {taskmanagers} TaskManagers with {slots} slots each; logs and pids in {}",
                    dir.display()
                );
                return Ok(());
            }
            _ if Instant::now() > deadline => {
                return Err(format!(
                    "the cluster did not come up within 30 s; see the logs in {}",
                    dir.display()
                ))
            }
            _ => std::thread::sleep(Duration::from_millis(100)),
        }
    }
}

fn spawn(
    exe: &Path,
    args: &[&str],
    more: &[String],
    dir: &Path,
    name: &str,
) -> Result<u32, String> {
    let log = dir.join(format!("{name}.log"));
    let out =
        std::fs::File::create(&log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let child = Command::new(exe)
        .args(args)
        .args(more)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("cannot start the {name}: {e}"))?;
    let pid = child.id();
    std::fs::write(dir.join(format!("{name}.pid")), pid.to_string())
        .map_err(|e| format!("cannot write the {name}'s pid file: {e}"))?;
    // The child runs on after this process exits; nobody waits for it here.
    std::mem::forget(child);
    Ok(pid)
}

/// Stops the processes whose pid files are in `dir` (TERM, then KILL after 5 s).
pub(crate) fn cluster_stop(dir: &Path) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("no cluster in {} ({e})", dir.display()))?;
    let mut stopped = 0;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("pid") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        let Ok(pid) = text.trim().parse::<i32>() else {
            eprintln!("ignoring {}: not a pid", path.display());
            let _ = std::fs::remove_file(&path);
            continue;
        };
        if terminate(pid) {
            stopped += 1;
        }
        let _ = std::fs::remove_file(&path);
    }
    println!(
        "Stopped {stopped} processes of the cluster in {}",
        dir.display()
    );
    Ok(())
}

/// Sends SIGTERM and waits for the process to go; SIGKILL after 5 s.
fn terminate(pid: i32) -> bool {
    let alive = |pid: i32| Path::new(&format!("/proc/{pid}")).exists() && !is_zombie(pid);
    if !alive(pid) {
        return false;
    }
    let _ = Command::new("kill").arg(pid.to_string()).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    true
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            s.rsplit(')')
                .next()
                .map(|r| r.trim_start().starts_with('Z'))
                .unwrap_or(false)
        })
        .unwrap_or(true)
}

/// A configuration from the shared flags.
impl ConfigArgs {
    pub(crate) fn load(&self) -> Result<Configuration, String> {
        let mut config = Configuration::new();
        if let Some(path) = &self.config {
            config.load_yaml(path).map_err(|e| e.to_string())?;
        }
        for d in &self.dynamic {
            config.set_dynamic(d).map_err(|e| e.to_string())?;
        }
        Ok(config)
    }
}
