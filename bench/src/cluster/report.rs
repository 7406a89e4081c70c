//! The benchmark's report: figures per engine, the comparison table with ratios and the
//! target, the JSON written to `results/`, and the per-engine breakdown of where time goes.

use super::*;

pub(super) fn col<T>(xs: &[T], f: impl Fn(&T) -> Option<f64>) -> Vec<f64> {
    xs.iter().filter_map(f).collect()
}

pub(super) fn med(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| measure::median(&v))
}

pub(super) fn p90(xs: &[f64]) -> Option<f64> {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| measure::quantile(&v, 0.9))
}

/// The headline figures of one engine: name → samples (ms, KiB).
pub(super) struct Figures {
    pub(super) cli: Vec<f64>,
    rest: Vec<f64>,
    canceled: Vec<f64>,
    free: Vec<f64>,
    rss_idle_kib: Option<f64>,
    rss_jobs_kib: Option<f64>,
    rss_after_kib: Option<f64>,
    cpu_jobs_ms: Option<f64>,
    cpu_idle_ms: Option<f64>,
    cpu_jobs_sched_ms: Option<f64>,
    cpu_idle_sched_ms: Option<f64>,
}

impl Figures {
    pub(super) fn of(m: &Measured) -> Figures {
        Figures {
            cli: col(&m.submit_cli, |s| Some(s.to_running_ms)),
            rest: col(&m.submit_rest, |s| Some(s.to_running_ms)),
            canceled: col(&m.cancel, |s| Some(s.to_canceled_ms)),
            free: col(&m.cancel, |s| Some(s.to_slots_free_ms)),
            rss_idle_kib: m.many_idle["rss_kib"].as_f64(),
            rss_jobs_kib: m.many_running["rss_kib"].as_f64(),
            rss_after_kib: m.many_after["rss_kib"].as_f64(),
            cpu_jobs_ms: m.many_running_cpu.map(|c| c.0.ms),
            cpu_idle_ms: m.many_idle_cpu.map(|c| c.0.ms),
            cpu_jobs_sched_ms: m.many_running_cpu.map(|c| c.0.sched_ms),
            cpu_idle_sched_ms: m.many_idle_cpu.map(|c| c.0.sched_ms),
        }
    }
}

pub(super) fn submit_json(xs: &[SubmitSample]) -> Value {
    json!({
        "to_running_ms": summary(&col(xs, |s| Some(s.to_running_ms))),
        "to_id_ms": summary(&col(xs, |s| Some(s.to_id_ms))),
        "cli_exit_ms": summary(&col(xs, |s| s.cli_exit_ms)),
        "to_initializing_ms": summary(&col(xs, |s| s.to_initializing_ms)),
        "initializing_to_job_running_ms": summary(&col(xs, |s| s.initializing_to_job_running_ms)),
        "job_running_to_tasks_running_ms": summary(&col(xs, |s| s.job_running_to_tasks_running_ms)),
        "samples": xs.iter().map(SubmitSample::to_json).collect::<Vec<_>>(),
    })
}

pub(super) fn measured_json(m: &Measured, args: &ClusterArgs, runs: u64) -> Value {
    let cpu = |c: Option<(Cpu, Cpu)>| {
        c.map(|(jm, tm)| {
            json!({
                "interval_s": args.idle_secs,
                "jobmanager_cpu_ms": jm.ms,
                "jobmanager_cpu_ms_schedstat": jm.sched_ms,
                "taskmanager_cpu_ms": tm.ms,
                "taskmanager_cpu_ms_schedstat": tm.sched_ms,
            })
        })
    };
    json!({
        "measured": true,
        "runs": runs,
        "clusters": {"submit": m.cluster_submit, "many": m.cluster_many},
        "warmup_cli": m.warmup.iter().map(SubmitSample::to_json).collect::<Vec<_>>(),
        "submit_cli": submit_json(&m.submit_cli),
        "submit_rest": submit_json(&m.submit_rest),
        "cancel": {
            "to_canceled_ms": summary(&col(&m.cancel, |s| Some(s.to_canceled_ms))),
            "to_slots_free_ms": summary(&col(&m.cancel, |s| Some(s.to_slots_free_ms))),
            "accepted_ms": summary(&col(&m.cancel, |s| Some(s.accepted_ms))),
            "cancelling_to_canceled_ms": summary(&col(&m.cancel, |s| s.cancelling_to_canceled_ms)),
            "samples": m.cancel.iter().map(CancelSample::to_json).collect::<Vec<_>>(),
        },
        "jobmanager": {
            "submit_cluster_idle": m.jm_idle,
            "submit_cluster_after_runs": m.jm_after_runs,
            "idle": m.many_idle,
            "idle_cpu": cpu(m.many_idle_cpu),
            "with_jobs": m.many_running,
            "with_jobs_cpu": cpu(m.many_running_cpu),
            "after_cancelling_jobs": m.many_after,
            "cancel_all_jobs_to_slots_free_ms": m.many_cancel_ms,
            "jobs": args.jobs,
        },
        "taskmanager": {
            "submit_cluster_idle": m.tm_idle,
            "with_jobs": m.many_running_tm,
        },
    })
}

/// Information on the strom binary measured (it is built apart from this crate).
pub(super) fn binary_info(path: &Path) -> Value {
    let meta = std::fs::metadata(path).ok();
    let modified = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_secs());
    let version = std::process::Command::new(path)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let changes = std::process::Command::new("git")
        .args([
            "-C",
            root,
            "status",
            "--porcelain",
            "--",
            ".",
            ":(exclude)bench",
        ])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .map(|l| l.trim().to_string())
                .collect::<Vec<_>>()
        });
    json!({
        "path": path.display().to_string(),
        "version": version,
        "modified_unix": modified,
        "size_bytes": meta.map(|m| m.len()),
        "uncommitted_changes_outside_bench_at_run": changes,
    })
}

pub(super) fn fmt_ms(x: Option<f64>) -> String {
    match x {
        Some(v) if v >= 1000.0 => format!("{:.2} s", v / 1e3),
        Some(v) => format!("{v:.1} ms"),
        None => "—".into(),
    }
}

pub(super) fn fmt_mib(kib: Option<f64>) -> String {
    kib.map_or("—".into(), |k| format!("{:.1} MiB", k / 1024.0))
}

pub(super) fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

pub(super) fn fmt_ratio(r: Option<f64>) -> String {
    match r {
        Some(r) if r <= 0.0 => "0×".into(),
        Some(r) if r < 0.01 => format!("{:.4}× (1/{:.0})", r, 1.0 / r),
        Some(r) if r < 1.0 => format!("{:.3}× (1/{:.1})", r, 1.0 / r),
        Some(r) => format!("{r:.2}×"),
        None => "—".into(),
    }
}

/// The table of figures and ratios; `flink` is `None` when it was not measured.
pub(super) fn table(s: &Figures, f: Option<&Figures>, args: &ClusterArgs) -> (String, Value) {
    let mut out = String::from(
        "| figure | strom median | strom p90 | Flink median | Flink p90 | strom/Flink (median) | strom/Flink (p90) |\n| --- | --- | --- | --- | --- | --- | --- |\n",
    );
    let mut ratios = serde_json::Map::new();
    let mut row = |name: &str, key: &str, a: &[f64], b: Option<&[f64]>| {
        let (am, ap) = (med(a), p90(a));
        let (bm, bp) = b.map_or((None, None), |b| (med(b), p90(b)));
        let (rm, rp) = (ratio(am, bm), ratio(ap, bp));
        out.push_str(&format!(
            "| {name} | {} | {} | {} | {} | {} | {} |\n",
            fmt_ms(am),
            fmt_ms(ap),
            fmt_ms(bm),
            fmt_ms(bp),
            fmt_ratio(rm),
            fmt_ratio(rp)
        ));
        ratios.insert(key.into(), json!({"median": rm, "p90": rp}));
    };
    row(
        "submit → all tasks RUNNING, CLI",
        "submit_cli_to_running",
        &s.cli,
        f.map(|f| f.cli.as_slice()),
    );
    row(
        "submit → all tasks RUNNING, REST",
        "submit_rest_to_running",
        &s.rest,
        f.map(|f| f.rest.as_slice()),
    );
    row(
        "cancel → CANCELED",
        "cancel_to_canceled",
        &s.canceled,
        f.map(|f| f.canceled.as_slice()),
    );
    row(
        "cancel → slots free",
        "cancel_to_slots_free",
        &s.free,
        f.map(|f| f.free.as_slice()),
    );
    out.push_str("\n| JobManager | strom | Flink | strom/Flink |\n| --- | --- | --- | --- |\n");
    let mut single = |name: String, key: &str, a: Option<f64>, b: Option<f64>, mib: bool| {
        let fmt = |x| if mib { fmt_mib(x) } else { fmt_ms(x) };
        let r = ratio(a, b);
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            fmt(a),
            fmt(b),
            fmt_ratio(r)
        ));
        ratios.insert(key.into(), json!(r));
    };
    single(
        "RSS, idle (fresh cluster)".into(),
        "jobmanager_rss_idle",
        s.rss_idle_kib,
        f.and_then(|f| f.rss_idle_kib),
        true,
    );
    single(
        format!("RSS, {} jobs running", args.jobs),
        "jobmanager_rss_with_jobs",
        s.rss_jobs_kib,
        f.and_then(|f| f.rss_jobs_kib),
        true,
    );
    single(
        "RSS, after cancelling them".into(),
        "jobmanager_rss_after_jobs",
        s.rss_after_kib,
        f.and_then(|f| f.rss_after_kib),
        true,
    );
    single(
        format!("CPU time over {} s, idle (utime+stime)", args.idle_secs),
        "jobmanager_cpu_idle",
        s.cpu_idle_ms,
        f.and_then(|f| f.cpu_idle_ms),
        false,
    );
    single(
        format!(
            "CPU time over {} s, {} jobs running (utime+stime)",
            args.idle_secs, args.jobs
        ),
        "jobmanager_cpu_with_jobs",
        s.cpu_jobs_ms,
        f.and_then(|f| f.cpu_jobs_ms),
        false,
    );
    single(
        format!("CPU time over {} s, idle (schedstat)", args.idle_secs),
        "jobmanager_cpu_idle_schedstat",
        s.cpu_idle_sched_ms,
        f.and_then(|f| f.cpu_idle_sched_ms),
        false,
    );
    single(
        format!(
            "CPU time over {} s, {} jobs running (schedstat)",
            args.idle_secs, args.jobs
        ),
        "jobmanager_cpu_with_jobs_schedstat",
        s.cpu_jobs_sched_ms,
        f.and_then(|f| f.cpu_jobs_sched_ms),
        false,
    );
    (out, Value::Object(ratios))
}

/// Where the submission time goes (medians, ms), one line per engine and way.
pub(super) fn breakdown(engine: &str, m: &Measured) -> String {
    let mut s = String::new();
    for (way, xs) in [("CLI", &m.submit_cli), ("REST", &m.submit_rest)] {
        s.push_str(&format!(
            "{engine} {way}: to job id known {}, CLI exit {}, start → JobManager INITIALIZING {}, INITIALIZING → job RUNNING {}, job RUNNING → all tasks RUNNING seen {}\n",
            fmt_ms(med(&col(xs, |x| Some(x.to_id_ms)))),
            fmt_ms(med(&col(xs, |x| x.cli_exit_ms))),
            fmt_ms(med(&col(xs, |x| x.to_initializing_ms))),
            fmt_ms(med(&col(xs, |x| x.initializing_to_job_running_ms))),
            fmt_ms(med(&col(xs, |x| x.job_running_to_tasks_running_ms))),
        ));
    }
    s
}
