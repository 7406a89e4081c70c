//! TaskManager registration and liveness.

use crate::job_master::execution::now_ms;
use crate::view::{JobId, TaskManagerView};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use strom_net::rpc::RpcEndpoint;
use strom_runtime::taskmanager::protocol::{encode, Registered, Registration, ToTaskManager};

/// A control connection, numbered by the JobManager when it is accepted.
pub(crate) type ConnId = u64;

/// A TaskManager that registered.
pub(crate) struct RegisteredTaskManager {
    pub(crate) id: String,
    pub(crate) conn: ConnId,
    pub(crate) endpoint: RpcEndpoint,
    pub(crate) data_address: SocketAddr,
    /// Which job holds each slot.
    pub(crate) slots: Vec<Option<JobId>>,
    pub(crate) info: Registration,
    pub(crate) free_memory: u64,
    last_heard: Instant,
    last_heard_ms: i64,
}

/// The ResourceManager's table of TaskManagers.
pub(crate) struct ResourceManager {
    pub(crate) task_managers: BTreeMap<String, RegisteredTaskManager>,
    by_conn: HashMap<ConnId, String>,
    fingerprint: String,
    version: String,
    pub(crate) heartbeat_interval: Duration,
    pub(crate) heartbeat_timeout: Duration,
}

impl ResourceManager {
    pub(crate) fn new(
        fingerprint: String,
        version: String,
        interval: Duration,
        timeout: Duration,
    ) -> Self {
        ResourceManager {
            task_managers: BTreeMap::new(),
            by_conn: HashMap::new(),
            fingerprint,
            version,
            heartbeat_interval: interval,
            heartbeat_timeout: timeout,
        }
    }

    /// Registers the TaskManager on `conn`, or says why not.
    pub(crate) fn register(
        &mut self,
        conn: ConnId,
        endpoint: RpcEndpoint,
        r: Registration,
    ) -> Result<Registered, String> {
        if r.fingerprint != self.fingerprint {
            return Err(format!(
                "binary fingerprint mismatch: this TaskManager runs a build with fingerprint {} ({}), the JobManager {} ({}); start every process of a cluster from the same binary",
                r.fingerprint, r.version, self.fingerprint, self.version
            ));
        }
        if self.by_conn.contains_key(&conn) {
            return Err("this connection has registered already".into());
        }
        if r.slots == 0 || r.slots > 4096 {
            return Err(format!(
                "a TaskManager must offer 1 to 4096 slots, not {}",
                r.slots
            ));
        }
        let id = format!(
            "{}-{:06x}",
            endpoint.peer(),
            xxhash_rust::xxh3::xxh3_64(&conn.to_le_bytes()) & 0xff_ffff
        );
        self.by_conn.insert(conn, id.clone());
        self.task_managers.insert(
            id.clone(),
            RegisteredTaskManager {
                id: id.clone(),
                conn,
                endpoint,
                data_address: r.data_address,
                slots: vec![None; r.slots as usize],
                info: r,
                free_memory: 0,
                last_heard: Instant::now(),
                last_heard_ms: now_ms(),
            },
        );
        Ok(Registered {
            task_manager_id: id,
            heartbeat_interval_ms: self.heartbeat_interval.as_millis() as u64,
            heartbeat_timeout_ms: self.heartbeat_timeout.as_millis() as u64,
        })
    }

    /// The TaskManager registered on `conn`.
    pub(crate) fn on_conn(&mut self, conn: ConnId) -> Option<&mut RegisteredTaskManager> {
        let id = self.by_conn.get(&conn)?;
        self.task_managers.get_mut(id)
    }

    /// Whether a TaskManager is registered on `conn`.
    pub(crate) fn is_registered(&self, conn: ConnId) -> bool {
        self.by_conn.contains_key(&conn)
    }

    /// Something arrived from `conn`: its TaskManager is alive.
    pub(crate) fn heard_from(&mut self, conn: ConnId) {
        if let Some(tm) = self.on_conn(conn) {
            tm.last_heard = Instant::now();
            tm.last_heard_ms = now_ms();
        }
    }

    /// Removes the TaskManager on `conn` (its connection closed); returns its id.
    pub(crate) fn disconnected(&mut self, conn: ConnId) -> Option<String> {
        let id = self.by_conn.remove(&conn)?;
        if let Some(tm) = self.task_managers.remove(&id) {
            tm.endpoint.close();
        }
        Some(id)
    }

    /// Removes TaskManagers silent for longer than the heartbeat timeout; returns their ids
    /// and how long each was silent.
    pub(crate) fn expire(&mut self) -> Vec<(String, Duration)> {
        let timeout = self.heartbeat_timeout;
        let dead: Vec<(String, ConnId, Duration)> = self
            .task_managers
            .values()
            .filter(|tm| tm.last_heard.elapsed() > timeout)
            .map(|tm| (tm.id.clone(), tm.conn, tm.last_heard.elapsed()))
            .collect();
        dead.into_iter()
            .map(|(id, conn, silent)| {
                self.disconnected(conn);
                (id, silent)
            })
            .collect()
    }

    /// Sends every TaskManager a heartbeat.
    pub(crate) fn send_heartbeats(&self) {
        let body = encode(&ToTaskManager::Heartbeat);
        for tm in self.task_managers.values() {
            if let Err(e) = tm.endpoint.notify(&body) {
                tracing::debug!("heartbeat to {}: {e}", tm.id);
            }
        }
    }

    /// Sends `msg` to TaskManager `id` (if it is still registered).
    pub(crate) fn send(&self, id: &str, msg: &ToTaskManager) -> Result<(), String> {
        let tm = self
            .task_managers
            .get(id)
            .ok_or_else(|| format!("TaskManager {id} is not registered"))?;
        tm.endpoint.notify(&encode(msg)).map_err(|e| e.to_string())
    }

    /// Sends a request to TaskManager `id`; its answer comes back on the connection.
    pub(crate) fn request(&self, id: &str, msg: &ToTaskManager) -> Result<(ConnId, u64), String> {
        let tm = self
            .task_managers
            .get(id)
            .ok_or_else(|| format!("TaskManager {id} is not registered"))?;
        let rid = tm
            .endpoint
            .send_request(&encode(msg))
            .map_err(|e| e.to_string())?;
        Ok((tm.conn, rid))
    }

    /// Snapshots for the REST API.
    pub(crate) fn view(&self, assigned: impl Fn(&str) -> u32) -> Vec<TaskManagerView> {
        self.task_managers
            .values()
            .map(|tm| TaskManagerView {
                id: tm.id.clone(),
                address: tm.endpoint.peer().to_string(),
                data_port: tm.data_address.port(),
                slots_number: tm.slots.len() as u32,
                free_slots: tm.slots.iter().filter(|s| s.is_none()).count() as u32,
                assigned_tasks: assigned(&tm.id),
                last_heartbeat: tm.last_heard_ms,
                cpu_cores: tm.info.cpu_cores,
                physical_memory: tm.info.physical_memory,
                free_memory: tm.free_memory,
                network_memory: tm.info.network_memory,
            })
            .collect()
    }
}
