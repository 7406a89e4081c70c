//! Configuration under Flink's key names, from a YAML file and `-D key=value` flags.
//!
//! Only keys this build understands are accepted; an unknown key or a value of the wrong
//! shape is an error naming the key and where it came from, so that a typo never silently
//! falls back to a default.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

mod cluster;
mod units;

pub use units::{parse_duration, parse_memory};

/// A configuration value could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The key is not one strom knows.
    #[error("unknown configuration key '{key}' (from {origin}); known keys: {known}")]
    UnknownKey {
        /// The key.
        key: String,
        /// Where it came from.
        origin: String,
        /// The keys this build accepts.
        known: String,
    },
    /// The value does not parse for its key.
    #[error("invalid value '{value}' for '{key}' (from {origin}): {reason}")]
    InvalidValue {
        /// The key.
        key: String,
        /// The value as given.
        value: String,
        /// Where it came from.
        origin: String,
        /// What was expected.
        reason: String,
    },
    /// A `-D` flag without `=`.
    #[error("malformed dynamic property '{0}': expected -D key=value")]
    Malformed(String),
    /// The YAML file could not be read or parsed.
    #[error("cannot read configuration file {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
}

/// Keys strom understands, with Flink's names where the concept is the same.
pub mod keys {
    /// Default parallelism of operators.
    pub const PARALLELISM_DEFAULT: &str = "parallelism.default";
    /// Default max parallelism (number of key groups).
    pub const MAX_PARALLELISM: &str = "pipeline.max-parallelism";
    /// Slots of the (embedded) TaskManager.
    pub const TASK_SLOTS: &str = "taskmanager.numberOfTaskSlots";
    /// How long a partly filled network buffer may wait before it is sent (0: every record).
    pub const BUFFER_TIMEOUT: &str = "execution.buffer-timeout";
    /// Size of a network buffer.
    pub const SEGMENT_SIZE: &str = "taskmanager.memory.segment-size";
    /// Buffers each channel owns.
    pub const BUFFERS_PER_CHANNEL: &str = "taskmanager.network.memory.buffers-per-channel";
    /// Interval of periodic watermark emission.
    pub const AUTO_WATERMARK_INTERVAL: &str = "pipeline.auto-watermark-interval";
    /// Flush partly filled buffers when a task runs out of input (strom-specific).
    pub const FLUSH_ON_IDLE: &str = "execution.flush-on-idle";
    /// Interval of latency markers from sources (0: none, the default).
    pub const LATENCY_INTERVAL: &str = "metrics.latency.interval";
    /// io_uring registered memory per slot executor (strom-specific).
    pub const IO_MEMORY: &str = "taskmanager.slot.io-memory";
    /// Whether slots pin to CPUs (strom-specific).
    pub const PIN_SLOTS: &str = "taskmanager.slot.pin-cpus";
    /// How long one task may run before the other tasks of its slot get their turn
    /// (strom-specific).
    pub const PREEMPT_INTERVAL: &str = "taskmanager.slot.preempt-interval";
    /// Spin before parking an idle slot executor, for latency (strom-specific).
    pub const SPIN_BEFORE_PARK: &str = "taskmanager.slot.spin-before-park";
    /// Which executor runs the slots: `strom` (its own) or `glommio`.
    pub const SLOT_EXECUTOR: &str = "taskmanager.slot.executor";
    /// TaskManagers of the embedded cluster (Flink's MiniCluster key).
    pub const TASK_MANAGERS: &str = "minicluster.number-of-taskmanagers";
    /// Network memory of a TaskManager: all its network buffers.
    pub const NETWORK_MEMORY: &str = "taskmanager.memory.network.max";
    /// Floating buffers per input gate of remote channels.
    pub const FLOATING_BUFFERS: &str = "taskmanager.network.memory.floating-buffers-per-gate";
    /// Buffers a producer subpartition may fill ahead of a remote consumer.
    pub const MAX_BUFFERS_PER_CHANNEL: &str = "taskmanager.network.memory.max-buffers-per-channel";
    /// How long a partition request waits for its producer to register the partition.
    pub const REQUEST_TIMEOUT: &str = "taskmanager.network.request-backoff.max";
    /// Spin before the network thread parks, for latency (strom-specific).
    pub const NETWORK_BUSY_POLL: &str = "taskmanager.network.busy-poll";
    /// Host of the JobManager's RPC endpoint.
    pub const JM_RPC_ADDRESS: &str = "jobmanager.rpc.address";
    /// Port of the JobManager's RPC endpoint.
    pub const JM_RPC_PORT: &str = "jobmanager.rpc.port";
    /// Address the REST API is reached at (and binds to).
    pub const REST_ADDRESS: &str = "rest.address";
    /// Port of the REST API.
    pub const REST_PORT: &str = "rest.port";
    /// Largest REST request body.
    pub const REST_MAX_CONTENT: &str = "rest.server.max-content-length";
    /// Interval of heartbeats between JobManager and TaskManagers.
    pub const HEARTBEAT_INTERVAL: &str = "heartbeat.interval";
    /// A peer silent this long is considered dead.
    pub const HEARTBEAT_TIMEOUT: &str = "heartbeat.timeout";
    /// How long a job waits for its slots.
    pub const SLOT_REQUEST_TIMEOUT: &str = "slot.request.timeout";
    /// Host a TaskManager binds its data port to and advertises.
    pub const TM_HOST: &str = "taskmanager.host";
    /// Port of a TaskManager's network stack (0: any).
    pub const TM_DATA_PORT: &str = "taskmanager.data.port";
    /// How long a TaskManager keeps trying to (re-)register before it gives up.
    pub const TM_REGISTRATION_TIMEOUT: &str = "taskmanager.registration.timeout";

    /// Every key with its description.
    pub const ALL: &[(&str, &str)] = &[
        (
            PARALLELISM_DEFAULT,
            "default operator parallelism (default: number of slots)",
        ),
        (MAX_PARALLELISM, "number of key groups (default 128)"),
        (
            TASK_SLOTS,
            "slots of the embedded TaskManager (default: number of CPUs)",
        ),
        (
            BUFFER_TIMEOUT,
            "flush partly filled buffers after this long; 0 = every record (default 100 ms)",
        ),
        (SEGMENT_SIZE, "network buffer size (default 32kb)"),
        (
            BUFFERS_PER_CHANNEL,
            "buffers per exchange channel (default 4)",
        ),
        (
            PREEMPT_INTERVAL,
            "a busy task lets the other tasks of its slot run after this long (default 1 ms)",
        ),
        (
            FLUSH_ON_IDLE,
            "flush partly filled buffers when a task runs out of input (default true)",
        ),
        (
            LATENCY_INTERVAL,
            "sources emit latency markers this often; sinks histogram them (default 0 = off)",
        ),
        (
            AUTO_WATERMARK_INTERVAL,
            "periodic watermark interval (default 200 ms)",
        ),
        (
            IO_MEMORY,
            "io_uring registered memory per slot of the glommio executor (default 1mb; memlock limits apply)",
        ),
        (
            PIN_SLOTS,
            "pin each slot to a CPU when there are enough CPUs (default true)",
        ),
        (
            SPIN_BEFORE_PARK,
            "spin this long before an idle slot parks (default 0 ms)",
        ),
        (
            SLOT_EXECUTOR,
            "the slots' executor: strom (its own: io_uring parking, no per-pass timers) or glommio (default strom)",
        ),
        (
            TASK_MANAGERS,
            "TaskManagers of the embedded cluster; exchanges between them use the network stack (default 1)",
        ),
        (NETWORK_MEMORY, "network buffer memory per TaskManager (default 64mb)"),
        (
            FLOATING_BUFFERS,
            "floating buffers per input gate of remote channels (default 8)",
        ),
        (
            MAX_BUFFERS_PER_CHANNEL,
            "buffers a subpartition may fill ahead of its remote consumer (default 10)",
        ),
        (
            REQUEST_TIMEOUT,
            "how long a partition request waits for its producer (default 10 s)",
        ),
        (
            NETWORK_BUSY_POLL,
            "spin this long before the network thread parks (default 0 ms)",
        ),
        (JM_RPC_ADDRESS, "JobManager RPC host (default 127.0.0.1)"),
        (JM_RPC_PORT, "JobManager RPC port (default 6123)"),
        (REST_ADDRESS, "REST API address (default 127.0.0.1)"),
        (REST_PORT, "REST API port (default 8081; 0 = any)"),
        (REST_MAX_CONTENT, "largest REST request body (default 1mb)"),
        (
            HEARTBEAT_INTERVAL,
            "heartbeat interval between JobManager and TaskManagers (default 250 ms)",
        ),
        (
            HEARTBEAT_TIMEOUT,
            "a peer silent this long is dead (default 1 s)",
        ),
        (
            SLOT_REQUEST_TIMEOUT,
            "how long a job waits for its slots (default 300 s)",
        ),
        (TM_HOST, "TaskManager host for its data port (default 127.0.0.1)"),
        (TM_DATA_PORT, "TaskManager data port (default 0 = any)"),
        (
            TM_REGISTRATION_TIMEOUT,
            "how long a TaskManager tries to (re-)register (default 5 min)",
        ),
    ];
}

/// Parsed configuration: raw key/values with their origin, and typed accessors.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Configuration {
    values: BTreeMap<String, (String, String)>,
}

impl Configuration {
    /// An empty configuration (all defaults).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`, remembering `origin` for error messages.
    pub fn set(&mut self, key: &str, value: &str, origin: &str) -> Result<(), ConfigError> {
        if !keys::ALL.iter().any(|(k, _)| *k == key) {
            return Err(ConfigError::UnknownKey {
                key: key.into(),
                origin: origin.into(),
                known: keys::ALL
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        self.values.insert(
            key.to_string(),
            (value.trim().to_string(), origin.to_string()),
        );
        // Validate eagerly so that the error names the origin now.
        self.check(key)
    }

    /// Applies one `-D key=value` flag.
    pub fn set_dynamic(&mut self, flag: &str) -> Result<(), ConfigError> {
        let (k, v) = flag
            .split_once('=')
            .ok_or_else(|| ConfigError::Malformed(flag.into()))?;
        self.set(k.trim(), v, &format!("-D {flag}"))
    }

    /// Loads a Flink-style YAML file: flat `key: value` pairs, or nested maps whose paths
    /// join with dots (`taskmanager: {numberOfTaskSlots: 2}`).
    pub fn load_yaml(&mut self, path: &Path) -> Result<(), ConfigError> {
        let file_err = |reason: String| ConfigError::File {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        let doc: serde_yaml::Value =
            serde_yaml::from_str(&text).map_err(|e| file_err(e.to_string()))?;
        let mut flat = Vec::new();
        flatten("", &doc, &mut flat).map_err(file_err)?;
        let origin = path.display().to_string();
        for (k, v) in flat {
            self.set(&k, &v, &origin)?;
        }
        Ok(())
    }

    /// Every key that is set, with its value.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values
            .iter()
            .map(|(k, (v, _))| (k.as_str(), v.as_str()))
    }

    /// `self` with every key of `over` set on top (its values and origins win).
    pub fn overlaid(&self, over: &Configuration) -> Configuration {
        let mut c = self.clone();
        for (k, v) in &over.values {
            c.values.insert(k.clone(), v.clone());
        }
        c
    }

    fn raw(&self, key: &str) -> Option<(&str, &str)> {
        self.values.get(key).map(|(v, o)| (v.as_str(), o.as_str()))
    }

    fn check(&self, key: &str) -> Result<(), ConfigError> {
        match key {
            keys::PARALLELISM_DEFAULT | keys::TASK_SLOTS => self.positive(key).map(|_| ()),
            keys::BUFFERS_PER_CHANNEL => self.positive(key).map(|_| ()),
            keys::MAX_PARALLELISM => self.max_parallelism().map(|_| ()),
            keys::BUFFER_TIMEOUT | keys::AUTO_WATERMARK_INTERVAL | keys::SPIN_BEFORE_PARK => {
                self.duration(key).map(|_| ())
            }
            keys::SEGMENT_SIZE => self.segment_size().map(|_| ()),
            keys::IO_MEMORY => self.memory(key).map(|_| ()),
            keys::PIN_SLOTS => self.bool(key).map(|_| ()),
            keys::SLOT_EXECUTOR => self.slot_executor().map(|_| ()),
            _ => self.check_cluster(key),
        }
    }

    fn invalid(&self, key: &str, reason: &str) -> ConfigError {
        let (v, o) = self.raw(key).unwrap_or(("", "default"));
        ConfigError::InvalidValue {
            key: key.into(),
            value: v.into(),
            origin: o.into(),
            reason: reason.into(),
        }
    }

    fn positive(&self, key: &str) -> Result<Option<usize>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            Some((v, _)) => match v.parse::<usize>() {
                Ok(n) if n > 0 => Ok(Some(n)),
                _ => Err(self.invalid(key, "expected a whole number greater than 0")),
            },
        }
    }

    fn duration(&self, key: &str) -> Result<Option<Duration>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            Some((v, _)) => parse_duration(v).map(Some).ok_or_else(|| {
                self.invalid(key, "expected a duration such as 100 ms, 0, 1 s or 5min")
            }),
        }
    }

    fn memory(&self, key: &str) -> Result<Option<usize>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            Some((v, _)) => parse_memory(v)
                .map(Some)
                .ok_or_else(|| self.invalid(key, "expected a size such as 32kb, 1mb or 4096")),
        }
    }

    fn bool(&self, key: &str) -> Result<Option<bool>, ConfigError> {
        match self.raw(key) {
            None => Ok(None),
            Some(("true", _)) => Ok(Some(true)),
            Some(("false", _)) => Ok(Some(false)),
            Some(_) => Err(self.invalid(key, "expected true or false")),
        }
    }

    /// `parallelism.default`, if set.
    pub fn default_parallelism(&self) -> Result<Option<usize>, ConfigError> {
        self.positive(keys::PARALLELISM_DEFAULT)
    }

    /// `pipeline.max-parallelism` (default 128, at most 32768).
    pub fn max_parallelism(&self) -> Result<usize, ConfigError> {
        match self.raw(keys::MAX_PARALLELISM) {
            None => Ok(128),
            Some((v, _)) => match v.parse::<usize>() {
                Ok(n) if (1..=32768).contains(&n) => Ok(n),
                _ => Err(self.invalid(
                    keys::MAX_PARALLELISM,
                    "expected a whole number from 1 to 32768",
                )),
            },
        }
    }

    /// `taskmanager.numberOfTaskSlots`, if set.
    pub fn task_slots(&self) -> Result<Option<usize>, ConfigError> {
        self.positive(keys::TASK_SLOTS)
    }

    /// `execution.buffer-timeout` (default 100 ms).
    pub fn buffer_timeout(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .duration(keys::BUFFER_TIMEOUT)?
            .unwrap_or(Duration::from_millis(100)))
    }

    /// `pipeline.auto-watermark-interval` (default 200 ms).
    pub fn auto_watermark_interval(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .duration(keys::AUTO_WATERMARK_INTERVAL)?
            .unwrap_or(Duration::from_millis(200)))
    }

    /// `taskmanager.slot.preempt-interval` (default 1 ms; 50 µs to 1 s).
    pub fn preempt_interval(&self) -> Result<Duration, ConfigError> {
        match self.duration(keys::PREEMPT_INTERVAL)? {
            None => Ok(Duration::from_millis(1)),
            Some(d) if d >= Duration::from_micros(50) && d <= Duration::from_secs(1) => Ok(d),
            Some(_) => Err(self.invalid(
                keys::PREEMPT_INTERVAL,
                "expected a duration from 50 us to 1 s",
            )),
        }
    }

    /// `execution.flush-on-idle` (default true).
    pub fn flush_on_idle(&self) -> Result<bool, ConfigError> {
        Ok(self.bool(keys::FLUSH_ON_IDLE)?.unwrap_or(true))
    }

    /// `metrics.latency.interval` (default 0: no latency markers).
    pub fn latency_interval(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .duration(keys::LATENCY_INTERVAL)?
            .unwrap_or(Duration::ZERO))
    }

    /// `taskmanager.memory.segment-size` (default 32 KiB; 4 KiB to 16 MiB, whole pages).
    pub fn segment_size(&self) -> Result<usize, ConfigError> {
        match self.memory(keys::SEGMENT_SIZE)? {
            None => Ok(32 * 1024),
            Some(n) if (4096..=16 << 20).contains(&n) && n % 4096 == 0 => Ok(n),
            Some(_) => Err(self.invalid(
                keys::SEGMENT_SIZE,
                "expected a multiple of 4kb from 4kb to 16mb",
            )),
        }
    }

    /// `minicluster.number-of-taskmanagers` (default 1).
    pub fn task_managers(&self) -> Result<usize, ConfigError> {
        Ok(self.positive(keys::TASK_MANAGERS)?.unwrap_or(1))
    }

    /// The network stack's settings from the `taskmanager.network.*` and memory keys.
    pub fn net_config(&self) -> Result<strom_net::NetConfig, ConfigError> {
        let buffer_size = self.segment_size()?;
        let memory = self.memory(keys::NETWORK_MEMORY)?.unwrap_or(64 << 20);
        if memory < buffer_size {
            return Err(self.invalid(keys::NETWORK_MEMORY, "smaller than one network buffer"));
        }
        let defaults = strom_net::NetConfig::default();
        Ok(strom_net::NetConfig {
            buffer_size,
            network_buffers: memory / buffer_size,
            buffers_per_channel: self.buffers_per_channel()?,
            floating_buffers_per_gate: self.positive(keys::FLOATING_BUFFERS)?.unwrap_or(8),
            max_buffers_per_subpartition: self
                .positive(keys::MAX_BUFFERS_PER_CHANNEL)?
                .unwrap_or(10),
            busy_poll: self.duration(keys::NETWORK_BUSY_POLL)?.unwrap_or_default(),
            partition_request_timeout: self
                .duration(keys::REQUEST_TIMEOUT)?
                .unwrap_or(defaults.partition_request_timeout),
            ..defaults
        })
    }

    /// `taskmanager.network.memory.buffers-per-channel` (default 4).
    pub fn buffers_per_channel(&self) -> Result<usize, ConfigError> {
        Ok(self.positive(keys::BUFFERS_PER_CHANNEL)?.unwrap_or(4))
    }

    /// io_uring registered memory per slot (default 1 MiB).
    pub fn io_memory(&self) -> Result<usize, ConfigError> {
        Ok(self.memory(keys::IO_MEMORY)?.unwrap_or(1 << 20))
    }

    /// Whether to pin slots to CPUs (default true).
    pub fn pin_slots(&self) -> Result<bool, ConfigError> {
        Ok(self.bool(keys::PIN_SLOTS)?.unwrap_or(true))
    }

    /// `taskmanager.slot.executor`: whether the slots run on glommio (default: strom's own).
    pub fn slot_executor(&self) -> Result<crate::slot::executor::ExecutorKind, ConfigError> {
        use crate::slot::executor::ExecutorKind;
        match self.raw(keys::SLOT_EXECUTOR).map(|(v, _)| v) {
            None | Some("strom") => Ok(ExecutorKind::Strom),
            Some("glommio") => Ok(ExecutorKind::Glommio),
            Some(_) => Err(self.invalid(keys::SLOT_EXECUTOR, "expected strom or glommio")),
        }
    }

    /// Spin before parking (default 0).
    pub fn spin_before_park(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .duration(keys::SPIN_BEFORE_PARK)?
            .unwrap_or(Duration::ZERO))
    }
}

fn flatten(
    prefix: &str,
    v: &serde_yaml::Value,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    use serde_yaml::Value;
    match v {
        Value::Null if prefix.is_empty() => Ok(()),
        Value::Mapping(m) => {
            for (k, v) in m {
                let k = match k {
                    Value::String(s) => s.clone(),
                    other => return Err(format!("non-string key {other:?} under '{prefix}'")),
                };
                let key = if prefix.is_empty() {
                    k
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out)?;
            }
            Ok(())
        }
        Value::String(s) => {
            out.push((prefix.to_string(), s.clone()));
            Ok(())
        }
        Value::Number(n) => {
            out.push((prefix.to_string(), n.to_string()));
            Ok(())
        }
        Value::Bool(b) => {
            out.push((prefix.to_string(), b.to_string()));
            Ok(())
        }
        other => Err(format!("unsupported value {other:?} for '{prefix}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_flags_are_checked() {
        let mut c = Configuration::new();
        c.set_dynamic("parallelism.default=3").unwrap();
        assert_eq!(c.default_parallelism().unwrap(), Some(3));
        assert!(matches!(
            c.set_dynamic("parallelism.default=0"),
            Err(ConfigError::InvalidValue { .. })
        ));
        assert!(matches!(
            c.set_dynamic("paralelism.default=2"),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(
            c.set_dynamic("nonsense"),
            Err(ConfigError::Malformed(_))
        ));
        assert!(matches!(
            c.set_dynamic("taskmanager.memory.segment-size=1000"),
            Err(ConfigError::InvalidValue { .. })
        ));
        c.set_dynamic("execution.buffer-timeout=0").unwrap();
        assert_eq!(c.buffer_timeout().unwrap(), Duration::ZERO);
    }

    #[test]
    fn yaml_nested_and_flat() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.yaml");
        std::fs::write(
            &p,
            "parallelism.default: 2\ntaskmanager:\n  numberOfTaskSlots: 4\n",
        )
        .unwrap();
        let mut c = Configuration::new();
        c.load_yaml(&p).unwrap();
        assert_eq!(c.task_slots().unwrap(), Some(4));
        std::fs::write(&p, "taskmanager.numberOfTaskSlots: many\n").unwrap();
        let err = Configuration::new().load_yaml(&p).unwrap_err().to_string();
        assert!(
            err.contains("taskmanager.numberOfTaskSlots") && err.contains("config.yaml"),
            "{err}"
        );
        std::fs::write(&p, "a: [1, 2\n").unwrap();
        assert!(matches!(
            Configuration::new().load_yaml(&p),
            Err(ConfigError::File { .. })
        ));
    }
}
