//! Measures generator throughput on one core: events per second for the default mix and for
//! bids, auctions and people only, each event built and dropped. It runs under mimalloc, the allocator of the
//! strom binary. Bids borrow all their strings from the static tables; auctions and people
//! still build their random words.
//!
//! `cargo run --release -p strom-nexmark --example gen_speed -- [EVENTS]` (default 20,000,000).

use std::hint::black_box;
use std::time::Instant;

use strom_nexmark::{
    ConfigError, Generator, GeneratorConfig, NexmarkConfig, StaticTables, DEFAULT_SEED,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BASE_TIME: i64 = 1_700_000_000_000;

/// Generates `events` events of `nexmark` and prints the rate.
fn measure(label: &str, nexmark: NexmarkConfig, events: u64) -> Result<(), ConfigError> {
    let config = GeneratorConfig::new(
        NexmarkConfig {
            num_events: events,
            ..nexmark
        },
        BASE_TIME,
        DEFAULT_SEED,
    )?;
    let generator = Generator::new(config)?;
    let start = Instant::now();
    let mut bytes = 0usize;
    for e in generator {
        bytes += black_box(&e).event_id as usize & 1;
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(bytes);
    println!(
        "{label:<24} {events:>12} events in {secs:>7.3} s = {:>6.2} M events/s",
        events as f64 / secs / 1e6
    );
    Ok(())
}

/// The default configuration with the given person, auction and bid proportions.
fn mix(person: u32, auction: u32, bid: u32) -> NexmarkConfig {
    NexmarkConfig {
        person_proportion: person,
        auction_proportion: auction,
        bid_proportion: bid,
        ..NexmarkConfig::default()
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: u64 = match std::env::args().nth(1) {
        Some(arg) => arg.replace('_', "").parse()?,
        None => 20_000_000,
    };
    // Build the static tables outside the timed loops.
    StaticTables::shared(DEFAULT_SEED);
    measure("default mix (1:3:46)", NexmarkConfig::default(), events)?;
    measure("bids only", mix(0, 0, 1), events)?;
    measure("auctions only", mix(0, 1, 0), events / 4)?;
    measure("people only", mix(1, 0, 0), events / 4)?;
    Ok(())
}
