//! Argument parsing and dispatch (clap).

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use strom_runtime::registry::JobRegistry;

/// strom: Flink's runtime, thread-per-core in Rust.
#[derive(Parser)]
#[command(name = "strom", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a registered job on the embedded local cluster.
    Run(RunArgs),
    /// List the jobs this binary can run.
    Jobs,
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
    /// Parallelism (same as -D parallelism.default=N).
    #[arg(short = 'p', long)]
    pub(crate) parallelism: Option<u32>,
    /// Print the job's plan as JSON instead of running it.
    #[arg(long)]
    pub(crate) plan: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// The job to run, then its own arguments (see `strom run <job> --help`).
    #[arg(value_name = "JOB [ARGS]", trailing_var_arg = true)]
    pub(crate) job_and_args: Vec<String>,
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
        Command::Run(args) => match crate::run::run(&jobs, args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        },
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
