//! The baseline: real Apache Flink 2.3 on this machine, through the peer's scripts
//! (`--flink-peer`, default /work/shared/peers/flink: `install.sh`, `start-cluster.sh`,
//! `stop-cluster.sh`). The job is `FlinkClusterJob.java` (next to this file), the shape of
//! strom's `keyed-window`, compiled against the Flink jars of the pip package.
//!
//! Every Flink process started here is stopped when its [`FlinkCluster`] is dropped: first
//! with `stop-cluster.sh`, then by pid (SIGKILL) for any JobManager or TaskManager JVM that
//! appeared with our configuration directory after the start and is still alive.

use super::http::{multipart_file, Rest};
use super::measure::Submit;
use super::procs;
use super::{ClusterArgs, Session};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const JOB_SOURCE: &str = include_str!("FlinkClusterJob.java");
const JOB_CLASS: &str = "FlinkClusterJob";
const JM_MARKER: &str = "StandaloneSessionClusterEntrypoint";
const TM_MARKER: &str = "TaskManagerRunner";
/// Ports the peer's `make-conf.sh` fixes (JobManager RPC, blob server).
const FIXED_PORTS: [u16; 2] = [6123, 6124];

/// Where the peer's scripts put things (from its `env.sh`).
#[derive(Clone, Debug)]
pub struct FlinkEnv {
    pub scripts: PathBuf,
    pub peer_dir: PathBuf,
    pub flink_home: PathBuf,
    pub conf_dir: PathBuf,
    pub log_dir: PathBuf,
}

impl FlinkEnv {
    /// Reads the paths from `scripts/env.sh`.
    pub fn load(scripts: &Path) -> Result<FlinkEnv, String> {
        let env_sh = scripts.join("scripts/env.sh");
        if !env_sh.exists() {
            return Err(format!("{} does not exist", env_sh.display()));
        }
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                ". '{}' && printf '%s\\n' \"$PEER_DIR\" \"$FLINK_HOME\" \"$FLINK_CONF_DIR\" \"$FLINK_LOG_DIR\"",
                env_sh.display()
            ))
            .output()
            .map_err(|e| format!("cannot run bash: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                env_sh.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let l: Vec<&str> = text.lines().collect();
        if l.len() < 4 || l.iter().any(|s| s.is_empty()) {
            return Err(format!(
                "unexpected output of {}: {text:?}",
                env_sh.display()
            ));
        }
        Ok(FlinkEnv {
            scripts: scripts.to_path_buf(),
            peer_dir: l[0].into(),
            flink_home: l[1].into(),
            conf_dir: l[2].into(),
            log_dir: l[3].into(),
        })
    }

    fn flink_bin(&self) -> PathBuf {
        self.flink_home.join("bin/flink")
    }

    /// The `flink-dist` jar's version (`2.3.0`), if installed.
    pub fn version(&self) -> Option<String> {
        std::fs::read_dir(self.flink_home.join("lib"))
            .ok()?
            .flatten()
            .find_map(|e| {
                let n = e.file_name().to_string_lossy().to_string();
                n.strip_prefix("flink-dist-")?
                    .strip_suffix(".jar")
                    .map(str::to_string)
            })
    }

    /// Runs `scripts/install.sh` unless Flink is installed already (bounded: 20 minutes).
    pub fn ensure_installed(&self, logs: &Path, log: &mut dyn FnMut(String)) -> Result<(), String> {
        if self.flink_bin().exists() && self.version().is_some() {
            return Ok(());
        }
        log(format!(
            "flink: not installed in {}; running install.sh (about 2 minutes)",
            self.peer_dir.display()
        ));
        let logf = logs.join("flink-install.log");
        let st = procs::run_bounded(
            "install.sh",
            Command::new(self.scripts.join("scripts/install.sh")),
            &logf,
            Duration::from_secs(20 * 60),
        )?;
        if !st.success() || !self.flink_bin().exists() {
            return Err(format!("install.sh failed ({st}): {}", tail(&logf, 1500)));
        }
        Ok(())
    }

    /// Compiles `FlinkClusterJob.java` into a jar (javac, jar); returns its path.
    pub fn build_job_jar(&self, logs: &Path) -> Result<PathBuf, String> {
        let dir = self.peer_dir.join("build/strom-cluster-bench");
        let classes = dir.join("classes");
        let _ = std::fs::remove_dir_all(&classes);
        std::fs::create_dir_all(&classes).map_err(|e| format!("{}: {e}", classes.display()))?;
        let src = dir.join(format!("{JOB_CLASS}.java"));
        std::fs::write(&src, JOB_SOURCE).map_err(|e| format!("{}: {e}", src.display()))?;
        let cp = std::fs::read_dir(self.flink_home.join("lib"))
            .map_err(|e| format!("{}/lib: {e}", self.flink_home.display()))?
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "jar"))
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(":");
        let logf = logs.join("flink-javac.log");
        let mut javac = Command::new("javac");
        javac
            .args(["-nowarn", "-Xlint:none", "-d"])
            .arg(&classes)
            .arg("-cp")
            .arg(&cp)
            .arg(&src);
        let st = procs::run_bounded("javac", javac, &logf, Duration::from_secs(180))?;
        if !st.success() {
            return Err(format!("javac failed: {}", tail(&logf, 1500)));
        }
        let jar_path = dir.join("strom-cluster-bench.jar");
        let mut jar = Command::new("jar");
        jar.arg("cf")
            .arg(&jar_path)
            .arg("-C")
            .arg(&classes)
            .arg(".");
        let st = procs::run_bounded(
            "jar",
            jar,
            &logs.join("flink-jar.log"),
            Duration::from_secs(60),
        )?;
        if !st.success() {
            return Err(format!(
                "jar failed: {}",
                tail(&logs.join("flink-jar.log"), 1500)
            ));
        }
        Ok(jar_path)
    }
}

/// The last `n` bytes of a file, for error messages.
fn tail(path: &Path, n: usize) -> String {
    let b = std::fs::read(path).unwrap_or_default();
    String::from_utf8_lossy(&b[b.len().saturating_sub(n)..]).to_string()
}

/// A running Flink session cluster (1 JobManager, 1 TaskManager), stopped on drop.
pub struct FlinkCluster {
    env: FlinkEnv,
    rest_port: u16,
    slots: u64,
    logs: PathBuf,
    rest: Rest,
    jm_pid: u32,
    tm_pid: u32,
    /// Pids of the JVMs we started (stopped by pid if the script leaves them).
    ours: Vec<u32>,
    jar: PathBuf,
    jar_id: Option<String>,
    job_args: Vec<String>,
    stopped: bool,
}

impl FlinkCluster {
    /// `start-cluster.sh` with `FLINK_REST_PORT=rest_port` and `SLOTS=slots`.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        env: &FlinkEnv,
        logs: &Path,
        tag: &str,
        rest_port: u16,
        slots: u64,
        jar: &Path,
        job_args: Vec<String>,
        timeout: Duration,
    ) -> Result<FlinkCluster, String> {
        for p in FIXED_PORTS.iter().copied().chain([rest_port]) {
            if !procs::port_free(p) {
                return Err(format!(
                    "port {p} on 127.0.0.1 is in use (the peer's config fixes 6123 and 6124 for Flink's RPC and blob server)"
                ));
            }
        }
        let conf = env.conf_dir.display().to_string();
        let before_jm = procs::find_pids(&[JM_MARKER]);
        let before_tm = procs::find_pids(&[TM_MARKER]);
        let mut c = FlinkCluster {
            env: env.clone(),
            rest_port,
            slots,
            logs: logs.to_path_buf(),
            rest: Rest::new(&format!("127.0.0.1:{rest_port}"))?,
            jm_pid: 0,
            tm_pid: 0,
            ours: Vec::new(),
            jar: jar.to_path_buf(),
            jar_id: None,
            job_args,
            stopped: false,
        };
        let logf = logs.join(format!("flink-{tag}-start-cluster.log"));
        let st = procs::run_bounded(
            "start-cluster.sh",
            c.script("start-cluster.sh"),
            &logf,
            timeout.max(Duration::from_secs(90)),
        );
        // Whatever happened, remember the JVMs that appeared, so that drop stops them.
        let new = |marker: &str, before: &[u32]| {
            procs::find_pids(&[marker, &conf])
                .into_iter()
                .filter(|p| !before.contains(p))
                .collect::<Vec<_>>()
        };
        let jms = new(JM_MARKER, &before_jm);
        let tms = new(TM_MARKER, &before_tm);
        c.ours = jms.iter().chain(&tms).copied().collect();
        let st = st?;
        if !st.success() {
            return Err(format!(
                "start-cluster.sh failed ({st}): {}",
                tail(&logf, 1500)
            ));
        }
        match (jms.as_slice(), tms.as_slice()) {
            ([jm], [tm]) => {
                c.jm_pid = *jm;
                c.tm_pid = *tm;
            }
            _ => {
                return Err(format!(
                    "expected one new Flink JobManager and TaskManager, found {jms:?} and {tms:?}"
                ))
            }
        }
        super::measure::wait_slots(&c.rest, slots, timeout)?;
        Ok(c)
    }

    fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new(self.env.scripts.join("scripts").join(name));
        cmd.env("FLINK_REST_PORT", self.rest_port.to_string())
            .env("SLOTS", self.slots.to_string());
        cmd
    }

    /// Uploads the job's jar (`POST /jars/upload`) once; its id.
    fn jar_id(&mut self) -> Result<String, String> {
        if let Some(id) = &self.jar_id {
            return Ok(id.clone());
        }
        let data = std::fs::read(&self.jar).map_err(|e| format!("{}: {e}", self.jar.display()))?;
        let (ct, body) = multipart_file("jarfile", "strom-cluster-bench.jar", &data);
        let r = self
            .rest
            .request("POST", "/jars/upload", Some(&ct), &body)?;
        let v = r.json()?;
        let name = v["filename"]
            .as_str()
            .ok_or_else(|| format!("POST /jars/upload: HTTP {}: {v}", r.status))?;
        let id = Path::new(name)
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .ok_or_else(|| format!("POST /jars/upload: odd filename {name}"))?;
        self.jar_id = Some(id.clone());
        Ok(id)
    }

    fn stop_now(&mut self) {
        if self.stopped {
            return;
        }
        self.stopped = true;
        let logf = self.logs.join("flink-stop-cluster.log");
        let _ = procs::run_bounded(
            "stop-cluster.sh",
            self.script("stop-cluster.sh"),
            &logf,
            Duration::from_secs(60),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.ours.iter().any(|&p| procs::alive(p)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        for &p in &self.ours {
            if procs::alive(p) {
                procs::signal(p, "KILL");
            }
        }
    }
}

impl Drop for FlinkCluster {
    fn drop(&mut self) {
        self.stop_now();
    }
}

impl Session for FlinkCluster {
    fn rest(&self) -> &Rest {
        &self.rest
    }

    fn jm_pid(&self) -> u32 {
        self.jm_pid
    }

    fn tm_pid(&self) -> u32 {
        self.tm_pid
    }

    fn config(&self) -> Value {
        json!({
            "scripts": self.env.scripts.display().to_string(),
            "config_dir": self.env.conf_dir.display().to_string(),
            "rest_port": self.rest_port,
            "taskmanagers": 1,
            "slots": self.slots,
            "memory": "make-conf.sh defaults: JobManager process 1600m, TaskManager process 4096m",
        })
    }

    /// `flink run -d -m 127.0.0.1:PORT -p P -c FlinkClusterJob JAR RECORDS RATE`.
    fn cli(&mut self, parallelism: u32, n: usize) -> Result<Submit, String> {
        let mut cmd = Command::new(self.env.flink_bin());
        cmd.env("FLINK_CONF_DIR", &self.env.conf_dir)
            .env("FLINK_LOG_DIR", &self.env.log_dir)
            .args(["run", "-d", "-m", self.rest.host_port(), "-p"])
            .arg(parallelism.to_string())
            .args(["-c", JOB_CLASS])
            .arg(&self.jar)
            .args(&self.job_args);
        Ok(Submit::Cli {
            name: "flink run".into(),
            cmd,
            log: self.logs.join(format!("flink-run-{n}.log")),
        })
    }

    /// `POST /jars/:jarid/run` (the jar uploaded once per cluster, untimed).
    fn post(&mut self, parallelism: u32) -> Result<Submit, String> {
        let id = self.jar_id()?;
        Ok(Submit::Post {
            path: format!("/jars/{id}/run"),
            body: json!({
                "entryClass": JOB_CLASS,
                "programArgsList": self.job_args,
                "parallelism": parallelism,
            }),
        })
    }

    fn stop(mut self: Box<Self>) {
        self.stop_now();
    }
}

/// The job's arguments: `RECORDS RATE`.
pub fn job_args(args: &ClusterArgs) -> Vec<String> {
    vec![args.records.to_string(), args.rate.to_string()]
}

/// The CLI command line, for the report.
pub fn cli_line(env: &FlinkEnv, jar: &Path, args: &ClusterArgs) -> String {
    format!(
        "{} run -d -m 127.0.0.1:PORT -p {} -c {JOB_CLASS} {} {}",
        env.flink_bin().display(),
        args.parallelism,
        jar.display(),
        job_args(args).join(" ")
    )
}
