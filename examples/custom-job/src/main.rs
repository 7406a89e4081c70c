//! `my-strom`: a user's own strom binary. It registers its own job, `sensor-max`, next to the
//! built-in ones and hands them to `strom_tools::main`, so this one binary is the JobManager,
//! the TaskManagers and the client of a session cluster (see README.md).
//!
//! `sensor-max`: a generator of sensor readings → key_by sensor → a running maximum per
//! sensor (with how many readings it has seen) → `part-N` text files, one line per update:
//! `sensor<TAB>count<TAB>max<TAB>seq of the max`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use strom_runtime::api::StreamEnv;
use strom_runtime::cluster::JobBuilder;

/// What the running maximum keeps per sensor. Records that cross an exchange are rkyv
/// archives, so the type derives rkyv's traits (and `Clone`).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, Clone, Debug, PartialEq)]
struct SensorMax {
    sensor: u32,
    /// Readings seen so far.
    count: u64,
    /// The largest value seen so far.
    max: i64,
    /// The sequence number of the reading with that value (the first one on a tie).
    max_seq: u64,
}

impl SensorMax {
    /// Folds two partial results of one sensor.
    fn merge(self, other: SensorMax) -> SensorMax {
        let first = (other.max, std::cmp::Reverse(other.max_seq))
            > (self.max, std::cmp::Reverse(self.max_seq));
        let (max, max_seq) = if first {
            (other.max, other.max_seq)
        } else {
            (self.max, self.max_seq)
        };
        SensorMax {
            sensor: self.sensor,
            count: self.count + other.count,
            max,
            max_seq,
        }
    }
}

/// The reading number `seq`: a value in -1_000_000..=1_000_000 that jumps around
/// (a multiplicative hash of `seq`), from sensor `seq mod sensors`.
fn reading(seq: u64, sensors: u32) -> (u32, i64) {
    let mut x = seq.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 29;
    (
        (seq % u64::from(sensors)) as u32,
        (x % 2_000_001) as i64 - 1_000_000,
    )
}

#[derive(clap::Parser)]
#[command(name = "my-strom run sensor-max")]
struct Args {
    /// Readings to generate (over all subtasks).
    #[arg(long, default_value_t = 100_000)]
    records: u64,
    /// Distinct sensors.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    sensors: u32,
    /// Limit the rate to this many readings per second (all subtasks).
    #[arg(long)]
    rate: Option<f64>,
    /// Write `part-N` files into this directory instead of printing to stdout.
    #[arg(long)]
    output: Option<PathBuf>,
}

/// Parses `sensor-max`'s arguments (on the client, the JobManager and every TaskManager: it
/// must give the same job everywhere) and returns its builder.
fn sensor_max(args: &[String]) -> Result<JobBuilder, String> {
    use clap::Parser;
    let a = Args::try_parse_from(std::iter::once("sensor-max".to_string()).chain(args.to_vec()))
        .map_err(|e| e.to_string())?;
    if matches!(a.rate, Some(r) if !(r > 0.0 && r.is_finite())) {
        return Err("--rate must be a positive number of readings per second".into());
    }
    Ok(Arc::new(move |env: &mut StreamEnv| {
        let sensors = a.sensors;
        let maxima = env
            .from_generator(a.records, a.rate, move |seq| {
                let (sensor, value) = reading(seq, sensors);
                SensorMax {
                    sensor,
                    count: 1,
                    max: value,
                    max_seq: seq,
                }
            })
            .name("Readings")
            .key_by(|r: &SensorMax| r.sensor)
            .reduce(SensorMax::merge)
            .name("Running max");
        let line = |m: &SensorMax| format!("{}\t{}\t{}\t{}", m.sensor, m.count, m.max, m.max_seq);
        match &a.output {
            Some(dir) => maxima.write_as_text(dir.clone(), line),
            None => maxima.print_with(line),
        };
        Ok(())
    }))
}

fn main() -> ExitCode {
    let mut jobs = strom_tools::jobs::builtin();
    jobs.register(
        "sensor-max",
        "generated sensor readings → running max per sensor: [--records N] [--sensors K] [--rate R] [--output DIR]",
        sensor_max,
    );
    strom_tools::main(jobs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_keeps_the_largest_value_and_its_first_sequence_number() {
        let m = |count, max, max_seq| SensorMax {
            sensor: 3,
            count,
            max,
            max_seq,
        };
        assert_eq!(m(1, 5, 10).merge(m(2, 7, 4)), m(3, 7, 4));
        assert_eq!(m(1, 7, 10).merge(m(1, 7, 4)), m(2, 7, 4));
        assert_eq!(m(1, 7, 4).merge(m(1, 7, 10)), m(2, 7, 4));
        assert_eq!(m(1, 9, 4).merge(m(1, -2, 1)), m(2, 9, 4));
    }

    #[test]
    fn readings_spread_over_the_range_and_the_sensors() {
        let values: Vec<i64> = (0..1000).map(|i| reading(i, 7).1).collect();
        assert!(values.iter().all(|v| (-1_000_000..=1_000_000).contains(v)));
        assert!(values.iter().any(|v| *v < -500_000) && values.iter().any(|v| *v > 500_000));
        assert_eq!(reading(15, 7).0, 1);
    }
}
