//! Helpers for strom's end-to-end tests.
#![warn(missing_docs)]

use strom_runtime::cluster::LocalCluster;
use strom_runtime::config::Configuration;

/// A local cluster with `slots` slots (more than this machine's CPUs is fine: they share).
pub fn cluster(slots: usize) -> LocalCluster {
    let mut c = Configuration::new();
    c.set("taskmanager.numberOfTaskSlots", &slots.to_string(), "test")
        .expect("valid slots");
    LocalCluster::start(c).expect("cluster starts")
}

/// A local cluster with extra configuration.
pub fn cluster_with(slots: usize, settings: &[(&str, &str)]) -> LocalCluster {
    let mut c = Configuration::new();
    c.set("taskmanager.numberOfTaskSlots", &slots.to_string(), "test")
        .expect("valid slots");
    for (k, v) in settings {
        c.set(k, v, "test").expect("valid setting");
    }
    LocalCluster::start(c).expect("cluster starts")
}

pub mod reference;
pub mod tagging;
