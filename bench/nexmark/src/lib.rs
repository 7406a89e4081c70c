//! The Nexmark event generator, reproducing the Java generator of nexmark-flink (commit
//! `6b3646c`) event for event. The specification is `shared/reference/nexmark.md`; section
//! numbers (§) below refer to it.
//!
//! A [`Generator`] is an iterator over the events of one [`GeneratorConfig`]: people, auctions
//! and bids ([`Event`]) with their event times. [`split()`] divides a configuration among
//! parallel source subtasks exactly as the Flink connector does.
//!
//! # Invariants
//!
//! * **Determinism.** The events are a pure function of the configuration, including its
//!   `seed` (§7.4), and of their position. With the seeding of §7.4 they equal those of the
//!   Java generator when its JDK counter is pinned to the same seed: every field, every event.
//! * **Sequential randomness.** Each generator draws all random fields from one
//!   `SplittableRandom`, in the exact Java order (§10); event `c` needs events `0..c` first.
//!   [`GeneratorState`] (count + one seed word) resumes a stream exactly.
//! * **Ids and times never depend on random draws**: kinds, entity ids and timestamps follow
//!   from the event number alone (§4–§6).
//! * **Shared static tables.** The 1 MiB extra-string pool and the channel tables are built
//!   once per process and seed, and shared ([`StaticTables::shared`]).
//! * **No panics on bad input.** Invalid configurations are rejected with a [`ConfigError`]
//!   naming the field.
//!
//! # Example
//!
//! ```
//! use strom_nexmark::{Event, Generator, GeneratorConfig, NexmarkConfig, DEFAULT_SEED};
//!
//! // The Flink connector's configuration with a fixed base time and the vectors' seed.
//! let config = GeneratorConfig::new(NexmarkConfig::default(), 1_700_000_000_000, DEFAULT_SEED)?;
//! let first: Vec<_> = Generator::new(config)?.take(50).collect();
//!
//! // The stream starts with two auctions (event ids 2 and 3), then bids.
//! let Event::Auction(auction) = &first[0].event else { panic!("expected an auction") };
//! assert_eq!((first[0].event_id, auction.id), (2, 1001));
//! assert!(matches!(first[2].event, Event::Bid(_)));
//! // Event 48 (event id 50) is the first person, 4 ms after the base time.
//! let Event::Person(person) = &first[48].event else { panic!("expected a person") };
//! assert_eq!((person.id, person.date_time), (1001, 1_700_000_000_004));
//! # Ok::<(), strom_nexmark::ConfigError>(())
//! ```

#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]

pub mod ascii;
pub mod config;
pub mod error;
mod events;
pub mod generator;
pub mod generator_config;
pub mod ids;
pub mod model;
pub mod numbering;
pub mod price;
pub mod random;
pub mod split;
pub mod strings;
pub mod tables;

pub use config::{NexmarkConfig, RateShape, RateUnit, MAX_AVG_BYTE_SIZE};
pub use error::ConfigError;
pub use generator::{GeneratedEvent, Generator, GeneratorState};
pub use generator_config::{GeneratorConfig, DEFAULT_SEED};
pub use model::{Auction, Bid, Event, EventKind, Person, Text};
pub use random::SplittableRandom;
pub use split::split;
pub use tables::StaticTables;
