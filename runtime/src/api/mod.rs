//! The DataStream API: build a job as a graph of typed streams.
//!
//! A job is a function that receives a [`StreamEnv`], creates sources, transforms the
//! streams and ends them in sinks. The same function runs once to plan the job and once on
//! every slot that runs part of it, so it must build the same graph each time
//! (deterministic), which the runtime checks with the graph's fingerprint.
//!
//! ```
//! use strom_runtime::api::StreamEnv;
//! use strom_runtime::cluster::LocalCluster;
//! use strom_runtime::sink::CollectHandle;
//!
//! let results = CollectHandle::<(u64, u64)>::new();
//! let out = results.clone();
//! let cluster = LocalCluster::start(Default::default()).unwrap();
//! let job = cluster
//!     .execute("even-squares", move |env: &mut StreamEnv| {
//!         env.from_sequence(0, 10)
//!             .filter(|x| x % 2 == 0)
//!             .map(|x| (x, x * x))
//!             .collect(&out);
//!         Ok(())
//!     })
//!     .unwrap();
//! job.wait().unwrap();
//! let mut r = results.items();
//! r.sort();
//! assert_eq!(r, vec![(0, 0), (2, 4), (4, 16), (6, 36), (8, 64)]);
//! ```

mod connected;
mod env;
mod join;
mod keyed;
pub(crate) mod node;
mod stream;
mod windowed;

pub use connected::{ConnectedStreams, KeyedConnectedStreams};
pub use env::StreamEnv;
pub use join::{JoinEqual, JoinWhere, JoinedStreams, WindowedJoin};
pub use keyed::KeyedStream;
pub use node::Data;
pub use stream::{DataStream, SinkHandle};
pub use windowed::WindowedStream;

pub use crate::operator::basic::UserError;
pub use crate::operator::co_process::CoProcessFunction;
pub use crate::operator::keyed_co_process::KeyedCoProcessFunction;
pub use crate::operator::keyed_process::{KeyedContext, KeyedProcessFunction, TimeDomain};
pub use crate::operator::{Collector, OutputTag};
pub use crate::state::{AggregateFunction, KeyedStateStore};
pub use crate::time::WatermarkStrategy;
