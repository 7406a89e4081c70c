//! The cluster's keys: where the JobManager and its REST API listen, heartbeats, slot
//! requests, and how TaskManagers reach their JobManager.

use super::{keys, ConfigError, Configuration};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::time::Duration;

impl Configuration {
    pub(super) fn check_cluster(&self, key: &str) -> Result<(), ConfigError> {
        match key {
            keys::JM_RPC_PORT | keys::REST_PORT | keys::TM_DATA_PORT => {
                self.port(key, 0).map(|_| ())
            }
            keys::HEARTBEAT_INTERVAL | keys::HEARTBEAT_TIMEOUT => self.heartbeat().map(|_| ()),
            keys::SLOT_REQUEST_TIMEOUT | keys::TM_REGISTRATION_TIMEOUT => {
                self.duration(key).map(|_| ())
            }
            keys::REST_MAX_CONTENT => self.memory(key).map(|_| ()),
            keys::JM_RPC_ADDRESS | keys::REST_ADDRESS | keys::TM_HOST => {
                self.host(key, "").map(|_| ())
            }
            _ => Ok(()),
        }
    }

    fn port(&self, key: &str, default: u16) -> Result<u16, ConfigError> {
        match self.raw(key) {
            None => Ok(default),
            Some((v, _)) => v
                .parse::<u16>()
                .map_err(|_| self.invalid(key, "expected a port number from 0 to 65535")),
        }
    }

    fn host(&self, key: &str, default: &str) -> Result<String, ConfigError> {
        match self.raw(key) {
            None => Ok(default.to_string()),
            Some((v, _)) if v.is_empty() || v.contains(char::is_whitespace) => {
                Err(self.invalid(key, "expected a host name or IP address"))
            }
            Some((v, _)) => Ok(v.to_string()),
        }
    }

    fn resolve(&self, key: &str, host: &str, port: u16) -> Result<SocketAddr, ConfigError> {
        (host, port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| ConfigError::InvalidValue {
                key: key.into(),
                value: host.into(),
                origin: self.raw(key).map(|(_, o)| o).unwrap_or("default").into(),
                reason: "the host does not resolve".into(),
            })
    }

    /// `jobmanager.rpc.address`:`jobmanager.rpc.port` (default 127.0.0.1:6123).
    pub fn jobmanager_rpc(&self) -> Result<SocketAddr, ConfigError> {
        let host = self.host(keys::JM_RPC_ADDRESS, "127.0.0.1")?;
        let port = self.port(keys::JM_RPC_PORT, 6123)?;
        self.resolve(keys::JM_RPC_ADDRESS, &host, port)
    }

    /// `rest.address`:`rest.port` (default 127.0.0.1:8081).
    pub fn rest_address(&self) -> Result<SocketAddr, ConfigError> {
        let host = self.host(keys::REST_ADDRESS, "127.0.0.1")?;
        let port = self.port(keys::REST_PORT, 8081)?;
        self.resolve(keys::REST_ADDRESS, &host, port)
    }

    /// `rest.server.max-content-length` (default 1 MiB).
    pub fn rest_max_content(&self) -> Result<usize, ConfigError> {
        Ok(self.memory(keys::REST_MAX_CONTENT)?.unwrap_or(1 << 20))
    }

    /// `heartbeat.interval` and `heartbeat.timeout` (defaults 250 ms and 1 s, so that a dead
    /// peer is noticed in about a second); the timeout must exceed the interval.
    pub fn heartbeat(&self) -> Result<(Duration, Duration), ConfigError> {
        let interval = self
            .duration(keys::HEARTBEAT_INTERVAL)?
            .unwrap_or(Duration::from_millis(250));
        let timeout = self
            .duration(keys::HEARTBEAT_TIMEOUT)?
            .unwrap_or(Duration::from_secs(1));
        if interval.is_zero() {
            return Err(self.invalid(keys::HEARTBEAT_INTERVAL, "must be greater than 0"));
        }
        if timeout <= interval {
            return Err(self.invalid(
                keys::HEARTBEAT_TIMEOUT,
                "must be longer than heartbeat.interval",
            ));
        }
        Ok((interval, timeout))
    }

    /// `slot.request.timeout` (default 300 s, as Flink).
    pub fn slot_request_timeout(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .duration(keys::SLOT_REQUEST_TIMEOUT)?
            .unwrap_or(Duration::from_secs(300)))
    }

    /// `taskmanager.host` and `taskmanager.data.port`: where a TaskManager's network stack
    /// listens (default 127.0.0.1, any port).
    pub fn taskmanager_data_address(&self) -> Result<SocketAddr, ConfigError> {
        let host = self.host(keys::TM_HOST, "127.0.0.1")?;
        let port = self.port(keys::TM_DATA_PORT, 0)?;
        match host.parse::<IpAddr>() {
            Ok(ip) => Ok(SocketAddr::new(ip, port)),
            Err(_) => self.resolve(keys::TM_HOST, &host, port),
        }
    }

    /// `taskmanager.registration.timeout` (default 5 min).
    pub fn registration_timeout(&self) -> Result<Duration, ConfigError> {
        Ok(self
            .duration(keys::TM_REGISTRATION_TIMEOUT)?
            .unwrap_or(Duration::from_secs(300)))
    }
}
