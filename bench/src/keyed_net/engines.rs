//! One run of the keyed count on each engine and layout: strom embedded (one process),
//! strom as a job cluster of two TaskManager processes, timely with two workers in this
//! process, timely as two processes.
//!
//! Every child process is a [`Proc`]: killed and reaped on drop, so an error or a time-out
//! leaves nothing running. Each run checks that every record arrived (strom: the keyed
//! vertex read `records`; timely: the sinks saw `records` and the checksum of a run in one
//! process).

use crate::cluster::procs::{free_port, Proc};
use crate::peer_timely::{self, ProcessPart, Workload};
use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The four ways the keyed count runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// `strom run -p 2 keyed-count`: two slots of the embedded cluster.
    StromOneProcess,
    /// `strom run --target job-cluster --taskmanagers 2 …`: one slot in each of two
    /// TaskManager processes, the keyed exchange over the network stack.
    StromTwoProcesses,
    /// timely, two worker threads in this process.
    TimelyOneProcess,
    /// timely, two processes of one worker each over its TCP transport.
    TimelyTwoProcesses,
}

impl Layout {
    /// Every layout, in the order a repeat runs them.
    pub const ALL: [Layout; 4] = [
        Layout::StromOneProcess,
        Layout::StromTwoProcesses,
        Layout::TimelyOneProcess,
        Layout::TimelyTwoProcesses,
    ];

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Layout::StromOneProcess => "strom_1_process",
            Layout::StromTwoProcesses => "strom_2_processes",
            Layout::TimelyOneProcess => "timely_1_process",
            Layout::TimelyTwoProcesses => "timely_2_processes",
        }
    }
}

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Sample {
    /// Seconds from the job's start to its end (see the module docs of `keyed_net`).
    pub seconds: f64,
    /// Input records per second.
    pub rate: f64,
}

/// How to start strom and timely, and for how long to wait.
pub struct Runner<'a> {
    /// The strom binary.
    pub strom: &'a Path,
    /// This binary (for `timely-process`).
    pub this_exe: &'a Path,
    /// Where the children's logs go.
    pub logs: &'a Path,
    /// Records per run.
    pub records: u64,
    /// Longest a run may take.
    pub timeout: Duration,
    /// The checksum of timely's run in one process, to check the two-process run against.
    pub timely_checksum: Option<u64>,
}

impl Runner<'_> {
    /// Runs `layout` once.
    pub fn run(&mut self, layout: Layout) -> Result<Sample, String> {
        let seconds = match layout {
            Layout::StromOneProcess => self.strom_embedded()?,
            Layout::StromTwoProcesses => self.strom_job_cluster()?,
            Layout::TimelyOneProcess => self.timely_in_process()?,
            Layout::TimelyTwoProcesses => self.timely_processes()?,
        };
        if seconds <= 0.0 {
            return Err(format!("{}: a run took no time", layout.name()));
        }
        Ok(Sample {
            seconds,
            rate: self.records as f64 / seconds,
        })
    }

    fn strom_args(&self) -> [String; 7] {
        [
            "-p".into(),
            "2".into(),
            "--json".into(),
            "keyed-count".into(),
            "--records".into(),
            self.records.to_string(),
            "--keys=10000".into(),
        ]
    }

    /// The embedded summary's `seconds` (planning, deployment on the slots, the run).
    fn strom_embedded(&self) -> Result<f64, String> {
        let mut cmd = Command::new(self.strom);
        cmd.arg("run").args(self.strom_args());
        let summary = self.run_strom("strom-embedded", cmd)?;
        if summary["status"] != "FINISHED" || summary["records_in"] != self.records {
            return Err(format!("strom embedded: unexpected summary {summary}"));
        }
        summary["seconds"]
            .as_f64()
            .ok_or_else(|| format!("strom embedded: no seconds in {summary}"))
    }

    /// The job's `duration` as the JobManager's REST API reports it (creation to the end,
    /// deployment on the TaskManagers included); the cluster's start-up is not in it.
    fn strom_job_cluster(&self) -> Result<f64, String> {
        let mut cmd = Command::new(self.strom);
        cmd.args([
            "run",
            "--target",
            "job-cluster",
            "--taskmanagers",
            "2",
            "-D",
            "taskmanager.numberOfTaskSlots=1",
        ])
        .args(self.strom_args());
        let job = self.run_strom("strom-job-cluster", cmd)?;
        if job["state"] != "FINISHED" {
            return Err(format!("strom job cluster: job ended {}", job["state"]));
        }
        let keyed = job["vertices"]
            .as_array()
            .and_then(|vs| {
                vs.iter()
                    .find(|v| v["name"].as_str().is_some_and(|n| n.starts_with("Keyed")))
            })
            .ok_or("strom job cluster: no keyed vertex in the job's details")?;
        let read = &keyed["metrics"]["read-records"];
        if *read != self.records {
            return Err(format!(
                "strom job cluster: the keyed vertex read {read} records, not {}",
                self.records
            ));
        }
        let ms = job["duration"]
            .as_f64()
            .ok_or("strom job cluster: no duration in the job's details")?;
        Ok(ms / 1000.0)
    }

    /// Runs a strom CLI to its end; the last line of its output that is a JSON object.
    fn run_strom(&self, name: &str, cmd: Command) -> Result<Value, String> {
        let log = self.logs.join(format!("{name}.log"));
        let mut p = Proc::spawn(name, cmd, &log)?;
        let status = p
            .wait_until(Instant::now() + self.timeout)
            .ok_or_else(|| format!("{name} did not finish in {:?}", self.timeout))?;
        // Let the pump threads write the last lines.
        std::thread::sleep(Duration::from_millis(50));
        if !status.success() {
            return Err(format!("{name} failed ({status}); see {}", log.display()));
        }
        let text = std::fs::read_to_string(&log)
            .map_err(|e| format!("cannot read {}: {e}", log.display()))?;
        text.lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .ok_or_else(|| format!("{name} printed no JSON; see {}", log.display()))
            .and_then(|l| {
                serde_json::from_str(l).map_err(|e| format!("{name}: bad JSON {l:?}: {e}"))
            })
    }

    /// Timed around `timely::execute` (thread start-up included), as `strom_bench core`.
    fn timely_in_process(&mut self) -> Result<f64, String> {
        let o = peer_timely::run(Workload::KeyedCount, self.records, 2)?;
        if o.sink_records != self.records {
            return Err(format!(
                "timely: the sinks saw {} records, not {}",
                o.sink_records, self.records
            ));
        }
        self.timely_checksum = Some(o.checksum);
        Ok(o.seconds)
    }

    /// From the earliest worker start (the processes connected) to the latest worker end.
    fn timely_processes(&self) -> Result<f64, String> {
        let addresses = [free_port()?, free_port()?]
            .map(|p| format!("127.0.0.1:{p}"))
            .join(",");
        let mut procs = (0..2)
            .map(|i| {
                let mut cmd = Command::new(self.this_exe);
                cmd.args(["timely-process", "--process", &i.to_string()])
                    .args(["--addresses", &addresses])
                    .args(["--records", &self.records.to_string()]);
                let log = self.logs.join(format!("timely-{i}.log"));
                Proc::spawn(&format!("timely process {i}"), cmd, &log)
            })
            .collect::<Result<Vec<_>, String>>()?;
        let deadline = Instant::now() + self.timeout;
        let mut parts = Vec::new();
        for p in &mut procs {
            let line = p.wait_line("PART ", deadline)?;
            parts.push(parse_part(&line)?);
        }
        let sink_records: u64 = parts.iter().map(|p| p.sink_records).sum();
        let checksum = parts.iter().fold(0u64, |a, p| a.wrapping_add(p.checksum));
        if sink_records != self.records {
            return Err(format!(
                "timely across processes: the sinks saw {sink_records} records, not {}",
                self.records
            ));
        }
        if let Some(expected) = self.timely_checksum {
            if checksum != expected {
                return Err(format!(
                    "timely across processes: checksum {checksum} differs from {expected} in one process"
                ));
            }
        }
        let start = parts.iter().map(|p| p.start_ns).min().unwrap_or(0);
        let end = parts.iter().map(|p| p.end_ns).max().unwrap_or(0);
        Ok(end.saturating_sub(start) as f64 / 1e9)
    }
}

/// The line `timely-process` prints: `PART records checksum start_ns end_ns`.
pub fn format_part(p: &ProcessPart) -> String {
    format!(
        "PART {} {} {} {}",
        p.sink_records, p.checksum, p.start_ns, p.end_ns
    )
}

fn parse_part(line: &str) -> Result<ProcessPart, String> {
    let f: Vec<&str> = line.split_whitespace().skip(1).collect();
    let bad = || format!("bad line from a timely process: {line:?}");
    if f.len() != 4 {
        return Err(bad());
    }
    Ok(ProcessPart {
        sink_records: f[0].parse().map_err(|_| bad())?,
        checksum: f[1].parse().map_err(|_| bad())?,
        start_ns: f[2].parse().map_err(|_| bad())?,
        end_ns: f[3].parse().map_err(|_| bad())?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_lines_round_trip() {
        let p = ProcessPart {
            sink_records: 5,
            checksum: u64::MAX,
            start_ns: 1,
            end_ns: 1_795_320_501_581_000_000,
        };
        let back = parse_part(&format_part(&p)).unwrap();
        assert_eq!(
            (back.sink_records, back.checksum, back.start_ns, back.end_ns),
            (5, u64::MAX, 1, 1_795_320_501_581_000_000)
        );
        assert!(parse_part("PART 1 2 3").is_err());
        assert!(parse_part("PART 1 2 x 4").is_err());
    }
}
