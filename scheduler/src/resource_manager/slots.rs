//! Slot allocation: a job asks for as many slots as its largest parallelism (slot sharing);
//! it gets them all or none.
//!
//! Slots are taken TaskManager by TaskManager in registration order (Flink's default, with
//! `cluster.evenly-spread-out-slots` off), so a small job stays on one TaskManager.

use super::ResourceManager;
use crate::view::JobId;

/// Where one logical slot of a job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SlotAssignment {
    pub(crate) task_manager: String,
    pub(crate) slot: u32,
}

impl ResourceManager {
    /// Slots offered and free.
    pub(crate) fn slot_counts(&self) -> (u32, u32) {
        let mut total = 0;
        let mut free = 0;
        for tm in self.task_managers.values() {
            total += tm.slots.len() as u32;
            free += tm.slots.iter().filter(|s| s.is_none()).count() as u32;
        }
        (total, free)
    }

    /// Allocates `n` slots to `job`, or none if fewer are free.
    pub(crate) fn allocate(&mut self, job: JobId, n: usize) -> Option<Vec<SlotAssignment>> {
        let (_, free) = self.slot_counts();
        if (free as usize) < n {
            return None;
        }
        let mut got = Vec::with_capacity(n);
        for tm in self.task_managers.values_mut() {
            for (i, s) in tm.slots.iter_mut().enumerate() {
                if got.len() == n {
                    return Some(got);
                }
                if s.is_none() {
                    *s = Some(job);
                    got.push(SlotAssignment {
                        task_manager: tm.id.clone(),
                        slot: i as u32,
                    });
                }
            }
        }
        Some(got)
    }

    /// Frees every slot `job` holds.
    pub(crate) fn release(&mut self, job: JobId) {
        for tm in self.task_managers.values_mut() {
            for s in tm.slots.iter_mut() {
                if *s == Some(job) {
                    *s = None;
                }
            }
        }
    }
}
