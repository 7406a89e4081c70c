//! Argument parsing and dispatch (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use strom_runtime::config::parse_duration;
use strom_runtime::registry::JobRegistry;

/// `strom --version`: the package version and the git revision built from (`modified` when
/// the sources differed from it; see `build.rs`).
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (git ",
    env!("STROM_GIT_REV"),
    env!("STROM_GIT_MODIFIED"),
    ")"
);

/// strom: Flink's runtime, thread-per-core in Rust.
#[derive(Parser)]
#[command(name = "strom", version = VERSION, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a registered job: on the embedded local cluster, or with -m on a running cluster.
    Run(RunArgs),
    /// List the jobs this binary can run.
    Jobs,
    /// Show a job's plan (its job graph as JSON) without running it.
    Info(InfoArgs),
    /// List the jobs of a running cluster (running and scheduled; -a: all).
    List {
        /// The JobManager's REST address.
        #[arg(
            short = 'm',
            long = "jobmanager",
            value_name = "HOST:PORT",
            default_value = "127.0.0.1:8081"
        )]
        jobmanager: String,
        /// Also jobs that have ended.
        #[arg(short = 'a', long)]
        all: bool,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Cancel a job of a running cluster and wait until it is cancelled.
    Cancel {
        /// The JobManager's REST address.
        #[arg(
            short = 'm',
            long = "jobmanager",
            value_name = "HOST:PORT",
            default_value = "127.0.0.1:8081"
        )]
        jobmanager: String,
        /// JSON for scripts.
        #[arg(long)]
        json: bool,
        /// The job's id (32 hex digits, as `strom list` shows).
        job_id: String,
    },
    /// Run a JobManager (Dispatcher with the REST API, ResourceManager, JobMasters).
    Jobmanager {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Application mode: the job (and its arguments) this JobManager runs as its
        /// application; it exits when the job ends. Without it: a session cluster.
        #[arg(
            value_name = "JOB [ARGS]",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        application: Vec<String>,
    },
    /// Run an application on a cluster of its own: a JobManager that runs the application's
    /// job and TaskManagers, torn down when it ends. JOB is a job of this binary, or the path
    /// of another strom binary (a user's own) followed by one of its jobs.
    Application {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// Parallelism (same as -D parallelism.default=N).
        #[arg(short = 'p', long)]
        parallelism: Option<u32>,
        /// TaskManagers to start.
        #[arg(long, default_value_t = 1)]
        taskmanagers: u32,
        /// Slots of each TaskManager (default: enough for the parallelism).
        #[arg(long)]
        slots: Option<u32>,
        /// The job or binary, then its arguments.
        #[arg(
            value_name = "JOB|BINARY [ARGS]",
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true
        )]
        application: Vec<String>,
    },
    /// Run a TaskManager that offers its slots to a JobManager.
    Taskmanager {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// The JobManager's RPC address (default: jobmanager.rpc.address:jobmanager.rpc.port).
        #[arg(long, value_name = "HOST:PORT")]
        jobmanager: Option<String>,
        /// Slots to offer (same as -D taskmanager.numberOfTaskSlots=N).
        #[arg(long)]
        slots: Option<u32>,
    },
    /// A local session cluster: a JobManager and TaskManagers as background processes.
    #[command(subcommand)]
    Cluster(ClusterCommand),
}

#[derive(Subcommand)]
enum ClusterCommand {
    /// Start a JobManager and TaskManagers in the background (pid and log files in --dir).
    Start {
        #[command(flatten)]
        cfg: ConfigArgs,
        /// TaskManagers to start.
        #[arg(long, default_value_t = 1)]
        taskmanagers: u32,
        /// Slots of each TaskManager.
        #[arg(long, default_value_t = 2)]
        slots: u32,
        /// Directory for pid and log files (default: $STROM_CLUSTER_DIR or the temp dir's strom-cluster).
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Stop the processes of a cluster started with `strom cluster start`.
    Stop {
        /// Its directory of pid files.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

/// The configuration flags every command shares.
#[derive(Args, Clone, Default)]
pub(crate) struct ConfigArgs {
    /// A configuration file (Flink-style YAML: `parallelism.default: 2`).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// A configuration value, `-D key=value` (Flink key names), repeatable.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub(crate) dynamic: Vec<String>,
}

/// Options of `strom info`.
#[derive(Args)]
pub(crate) struct InfoArgs {
    #[command(flatten)]
    pub(crate) cfg: ConfigArgs,
    /// Parallelism (same as -D parallelism.default=N).
    #[arg(short = 'p', long)]
    pub(crate) parallelism: Option<u32>,
    /// The job, then its own arguments.
    #[arg(
        value_name = "JOB [ARGS]",
        trailing_var_arg = true,
        allow_hyphen_values = true
    )]
    pub(crate) job_and_args: Vec<String>,
}

/// Where `strom run` runs a job.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Target {
    /// The embedded local cluster in this process.
    Embedded,
    /// A cluster of processes started for this job.
    JobCluster,
}

/// Options of `strom run`.
#[derive(Args)]
pub(crate) struct RunArgs {
    /// A configuration file (Flink-style YAML: `parallelism.default: 2`).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// A configuration value, `-D key=value` (Flink key names), repeatable.
    #[arg(short = 'D', value_name = "KEY=VALUE")]
    pub(crate) dynamic: Vec<String>,
    /// Submit to the JobManager whose REST API is at HOST:PORT instead of running embedded.
    #[arg(short = 'm', long = "jobmanager", value_name = "HOST:PORT")]
    pub(crate) jobmanager: Option<String>,
    /// With -m: return once the job is submitted (prints its id).
    #[arg(short = 'd', long)]
    pub(crate) detached: bool,
    /// Where the job runs: `embedded` (default: in this process), `job-cluster` (a
    /// JobManager and TaskManagers started for this job and stopped after it).
    #[arg(long, value_enum, default_value_t = Target::Embedded)]
    pub(crate) target: Target,
    /// With --target job-cluster: TaskManagers to start.
    #[arg(long, default_value_t = 1)]
    pub(crate) taskmanagers: u32,
    /// Parallelism (same as -D parallelism.default=N).
    #[arg(short = 'p', long)]
    pub(crate) parallelism: Option<u32>,
    /// Print the job's plan as JSON instead of running it.
    #[arg(long)]
    pub(crate) plan: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// How often an embedded run prints a progress line on stderr: a duration (`500 ms`,
    /// `2 s`; a bare number is milliseconds, as in Flink), `0` or `off` for none.
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "2 s",
        value_parser = parse_progress_interval
    )]
    pub(crate) progress_interval: Duration,
    /// The job to run, then its own arguments (see `strom run <job> --help`).
    #[arg(value_name = "JOB [ARGS]", trailing_var_arg = true)]
    pub(crate) job_and_args: Vec<String>,
}

/// `--progress-interval`: a Flink-style duration, or `off` (zero: no progress lines).
fn parse_progress_interval(s: &str) -> Result<Duration, String> {
    if s.trim().eq_ignore_ascii_case("off") {
        return Ok(Duration::ZERO);
    }
    parse_duration(s).ok_or_else(|| {
        "not a duration: give e.g. `500 ms`, `2 s` or `1 min` (a bare number is milliseconds), or `0` / `off` for no progress lines".to_string()
    })
}

impl RunArgs {
    /// The job's name.
    pub(crate) fn job(&self) -> Option<&str> {
        self.job_and_args.first().map(String::as_str)
    }

    /// The job's own arguments (a leading `--` separator dropped).
    pub(crate) fn job_args(&self) -> &[String] {
        match self.job_and_args.get(1..) {
            Some([sep, rest @ ..]) if sep == "--" => rest,
            Some(rest) => rest,
            None => &[],
        }
    }

    /// The configuration flags.
    pub(crate) fn config_args(&self) -> ConfigArgs {
        ConfigArgs {
            config: self.config.clone(),
            dynamic: self.dynamic.clone(),
        }
    }

    /// Whether the job's help was asked for.
    pub(crate) fn wants_job_help(&self) -> bool {
        self.job_args().iter().any(|a| a == "--help" || a == "-h")
    }
}

/// Runs the CLI with `jobs` registered; returns the process exit code.
pub fn main(jobs: JobRegistry) -> ExitCode {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("STROM_LOG").unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
    use clap::{CommandFactory, FromArgMatches};
    let list = job_list(&jobs);
    let cmd = Cli::command().mut_subcommand("run", |c| c.after_help(list.clone()));
    let cli = match cmd
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Jobs => {
            print!("{}", job_list(&jobs));
            ExitCode::SUCCESS
        }
        Command::Run(args) => match &args.jobmanager {
            _ if args.wants_job_help() || args.plan => exit(crate::run::run(&jobs, args)),
            Some(m) => exit(crate::remote::run(&jobs, &args, m)),
            None if args.target == Target::JobCluster => {
                exit(crate::modes::job_cluster(&jobs, &args))
            }
            None => exit(crate::run::run(&jobs, args)),
        },
        Command::Application {
            cfg,
            parallelism,
            taskmanagers,
            slots,
            application,
        } => exit(crate::modes::application(
            &jobs,
            &cfg,
            parallelism,
            taskmanagers,
            slots,
            &application,
        )),
        Command::Info(a) => exit(crate::run::info(&jobs, &a)),
        Command::List {
            jobmanager,
            all,
            json,
        } => exit(crate::remote::list(&jobmanager, all, json)),
        Command::Cancel {
            jobmanager,
            json,
            job_id,
        } => exit(crate::remote::cancel(&jobmanager, &job_id, json)),
        Command::Jobmanager { cfg, application } => {
            exit(crate::processes::jobmanager(&jobs, &cfg, &application))
        }
        Command::Taskmanager {
            cfg,
            jobmanager,
            slots,
        } => exit(crate::processes::taskmanager(
            &jobs,
            &cfg,
            jobmanager.as_deref(),
            slots,
        )),
        Command::Cluster(ClusterCommand::Start {
            cfg,
            taskmanagers,
            slots,
            dir,
        }) => exit(crate::processes::cluster_start(
            &cfg,
            &crate::processes::cluster_dir(dir.as_deref()),
            taskmanagers,
            slots,
        )),
        Command::Cluster(ClusterCommand::Stop { dir }) => exit(crate::processes::cluster_stop(
            &crate::processes::cluster_dir(dir.as_deref()),
        )),
    }
}

fn exit(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The built-in jobs, one per line.
pub(crate) fn job_list(jobs: &JobRegistry) -> String {
    let mut s = String::from("Jobs:\n");
    for j in jobs.iter() {
        s.push_str(&format!("  {:<16} {}\n", j.name, j.about));
    }
    s
}
