//! Two TaskManager processes on one host pin their slots to different CPUs: each claims the
//! CPUs it pins to (`runtime/src/slot/cpu_claims.rs`), so the second one's slot does not land
//! on the first one's CPU (before the claims, both pinned slot 0 to CPU 0 and a two-process
//! keyed exchange ran at half speed). The TaskManagers share a private claims directory
//! (`TMPDIR`), so that other tests' clusters cannot take the CPUs.

mod common;

use common::{Cluster, STROM};

/// The distinct `Cpus_allowed_list`s of the threads of `pid` whose name starts with `slot-`
/// (a slot's executor thread, and with glommio its helper thread, which inherits its affinity).
fn slot_cpus(pid: u32) -> Vec<String> {
    let mut out = Vec::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).expect("the process runs") {
        let dir = task.expect("a task").path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap_or_default();
        if !name.starts_with("slot-") {
            continue;
        }
        let status = std::fs::read_to_string(dir.join("status")).unwrap_or_default();
        if let Some(list) = status
            .lines()
            .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        {
            out.push(list.trim().to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The CPUs this test may use, from the kernel's list (`0-1`, `0,2-3`).
fn allowed_cpus() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim();
    list.split(',')
        .map(|p| match p.split_once('-') {
            Some((a, b)) => b.parse::<usize>().unwrap() - a.parse::<usize>().unwrap() + 1,
            None => 1,
        })
        .sum()
}

#[test]
fn two_taskmanagers_pin_their_slots_to_different_cpus() {
    let claims = tempfile::tempdir().unwrap();
    let env = [("TMPDIR", claims.path().as_os_str())];
    let mut c = Cluster::start(&[], &[]);
    c.add_taskmanager_env(STROM, 1, &env);
    c.add_taskmanager_env(STROM, 1, &env);
    c.wait_for(|o| o["taskmanagers"] == 2, "TaskManagers to register");
    let first = slot_cpus(c.tms[0].child.id());
    let second = slot_cpus(c.tms[1].child.id());
    assert_eq!(
        (first.len(), second.len()),
        (1, 1),
        "one CPU list per TaskManager"
    );
    if allowed_cpus() >= 2 {
        assert_eq!(first[0], "0", "the first TaskManager pins to the first CPU");
        assert_eq!(
            second[0], "1",
            "the second pins to the next free CPU, not to CPU 0"
        );
    }
    // A third TaskManager finds no free CPU on a 2-CPU host and runs unpinned.
    if allowed_cpus() == 2 {
        c.add_taskmanager_env(STROM, 1, &env);
        c.wait_for(|o| o["taskmanagers"] == 3, "the third TaskManager");
        let third = slot_cpus(c.tms[2].child.id());
        assert_eq!(third, vec!["0-1".to_string()], "unpinned: any allowed CPU");
    }
    // The claims die with their process: after the first TaskManager is gone, a new one
    // gets its CPU.
    drop(c.tms.remove(0));
    c.add_taskmanager_env(STROM, 1, &env);
    let fresh = slot_cpus(c.tms.last().unwrap().child.id());
    if allowed_cpus() >= 2 {
        assert_eq!(
            fresh,
            vec!["0".to_string()],
            "CPU 0 was released by the killed process"
        );
    }
}
