#!/usr/bin/env python3
"""strom and Apache Flink 2.3 side by side on this machine, in one invocation.

Runs the Flink peer's DataStream workloads (DS-W1: generator -> filter -> map -> discard;
DS-W2: generator -> keyBy -> 1 s tumbling count -> discard; shared/peers/flink/java/
DataStreamBench.java) on a real Flink session cluster, and the same jobs on strom
(`strom run -p P --json ds-w1|ds-w2 --records N`, the embedded cluster), interleaved run by
run (Flink, strom, Flink, strom, ...), and prints records/s per core and the strom/Flink
ratio per workload and parallelism. "Per core" is records/s divided by the parallelism (one
slot per core), as the issue's Flink figures are stated.

The SQL forms W1 and W2 (the peer's `bench.py run W1|W2`: Flink SQL over `datagen`) run on
Flink as SQL; strom, which has no SQL layer, runs the same computation written with its
DataStream API (`strom run w1|w2`: the same columns, filter, projection, 1 s tumbling
window and COUNT(*) per key and window; see tools/src/jobs/sql_forms.rs).

  bench/scripts/side_by_side.py [--n-w1 50000000] [--n-w2 20000000] [--n-sql 10000000]
                                [-p 1 2] [-r 3] [--workloads DS-W1 DS-W2 W1 W2]
                                [--strom target/release/strom] [--out FILE]

Flink's figure is the peer's `rps_run` (input rows / processing phase: first subtask RUNNING
to last FINISHED, from its REST API); strom's is its summary's records / seconds (submission
to end, so it includes scheduling: strom is not flattered). Needs the peer installed
(shared/peers/flink/scripts/install.sh).
"""
import argparse, json, os, platform, re, statistics, subprocess, sys, time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PEER_SCRIPTS = os.path.abspath(os.path.join(ROOT, "..", "shared", "peers", "flink", "scripts"))
PEER = os.environ.get("FLINK_PEER_HOME", os.path.expanduser("~/.cache/strom-peers/flink"))


def machine():
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "")
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            mem = f.readline().split(":", 1)[1].strip()
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu_model": model, "memory": mem,
            "kernel": platform.release(), "load_average_at_start": os.getloadavg()}


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def flink_run(workload, p, n, env):
    out = subprocess.run([sys.executable, os.path.join(PEER_SCRIPTS, "bench.py"), "run", workload,
                          "-p", str(p), "-n", str(n), "-r", "1", "--tag", "side-by-side"],
                         capture_output=True, text=True, env=env, timeout=600)
    m = re.search(r"rps_run=([\d,]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise SystemExit(f"Flink run of {workload} p={p} failed:\n{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
    return int(m.group(1).replace(",", ""))


def strom_run(strom, workload, p, n):
    job = {"DS-W1": "ds-w1", "DS-W2": "ds-w2", "W1": "w1", "W2": "w2"}[workload]
    out = subprocess.run([strom, "run", "-p", str(p), "-D", f"taskmanager.numberOfTaskSlots={p}",
                          "--json", job, "--records", str(n)],
                         capture_output=True, text=True, timeout=600)
    if out.returncode != 0:
        raise SystemExit(f"strom run of {job} p={p} failed:\n{out.stderr[-2000:]}")
    summary = json.loads(out.stderr.strip().splitlines()[-1])
    return summary["records_in"] / summary["seconds"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n-w1", type=int, default=50_000_000)
    ap.add_argument("--n-w2", type=int, default=20_000_000)
    ap.add_argument("--n-sql", type=int, default=10_000_000, help="rows of W1 and W2 (SQL)")
    ap.add_argument("--workloads", nargs="+", default=["DS-W1", "DS-W2", "W1", "W2"],
                    choices=["DS-W1", "DS-W2", "W1", "W2"])
    ap.add_argument("-p", type=int, nargs="+", default=[1, 2])
    ap.add_argument("-r", "--repeat", type=int, default=3)
    ap.add_argument("--strom", default=os.path.join(ROOT, "target", "release", "strom"))
    ap.add_argument("--flink-rest-port", default=os.environ.get("FLINK_REST_PORT", "18081"))
    ap.add_argument("--out", default=None, help="results JSON (default: bench/results/side-by-side-DATE.json)")
    a = ap.parse_args()
    if not os.path.exists(os.path.join(PEER, ".venv")):
        raise SystemExit(f"the Flink peer is not installed in {PEER}: run {PEER_SCRIPTS}/install.sh")
    if not os.access(a.strom, os.X_OK):
        raise SystemExit(f"no strom binary at {a.strom}: cargo build --release -p strom-tools")
    env = dict(os.environ, FLINK_REST_PORT=a.flink_rest_port)
    info = {"machine": machine(), "git_revision": git_rev(),
            "date": time.strftime("%Y-%m-%d"), "strom": a.strom,
            "strom_version": subprocess.run([a.strom, "--version"], capture_output=True,
                                            text=True).stdout.strip() or None,
            "runs": a.repeat, "results": []}
    print("starting the Flink cluster (about 20 s)...", flush=True)
    subprocess.run([os.path.join(PEER_SCRIPTS, "start-cluster.sh")], env=env, check=True,
                   capture_output=True, timeout=180)
    try:
        sizes = {"DS-W1": a.n_w1, "DS-W2": a.n_w2, "W1": a.n_sql, "W2": a.n_sql}
        for workload in a.workloads:
            n = sizes[workload]
            for p in a.p:
                # Warm-up (Flink's JIT; strom's page cache), not recorded.
                flink_run(workload, p, n, env)
                strom_run(a.strom, workload, p, n)
                flink, strom = [], []
                for _ in range(a.repeat):
                    flink.append(flink_run(workload, p, n, env))
                    strom.append(strom_run(a.strom, workload, p, n))
                f, s = statistics.median(flink), statistics.median(strom)
                row = {"workload": workload, "parallelism": p, "records": n,
                       "flink_form": "SQL" if workload in ("W1", "W2") else "DataStream",
                       "flink_records_per_s": flink, "strom_records_per_s": strom,
                       "flink_per_core_median": f / p, "strom_per_core_median": s / p,
                       "ratio_per_core": s / f}
                info["results"].append(row)
                print(f"{workload} p={p}: Flink {f / p / 1e6:.2f} M/s per core, strom "
                      f"{s / p / 1e6:.2f} M/s per core, strom/Flink {s / f:.1f}x", flush=True)
    finally:
        subprocess.run([os.path.join(PEER_SCRIPTS, "stop-cluster.sh")], env=env,
                       capture_output=True, timeout=120)
    out = a.out or os.path.join(ROOT, "bench", "results", f"side-by-side-{info['date']}.json")
    with open(out, "w") as f:
        json.dump(info, f, indent=2)
    print(f"results in {out}")


if __name__ == "__main__":
    main()
