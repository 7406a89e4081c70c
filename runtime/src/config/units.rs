//! Flink's spellings of durations (`TimeUtils`) and memory sizes (`MemorySize`).

use std::time::Duration;

/// Parses Flink-style durations: `0`, `100`, `100 ms`, `2 s`, `5min`, `1h`.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().ok()?;
    // Flink's TimeUtils units; a bare number is milliseconds.
    let nanos_per_unit: u64 = match unit.trim() {
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1,
        "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1_000,
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1_000_000,
        "s" | "sec" | "secs" | "second" | "seconds" => 1_000_000_000,
        "min" | "m" | "minute" | "minutes" => 60_000_000_000,
        "h" | "hour" | "hours" => 3_600_000_000_000,
        _ => return None,
    };
    Some(Duration::from_nanos(n.checked_mul(nanos_per_unit)?))
}

/// Parses Flink-style memory sizes: `4096`, `32kb`, `32 k`, `1mb`, `1 g`.
pub fn parse_memory(s: &str) -> Option<usize> {
    let s = s.trim().to_ascii_lowercase();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().ok()?;
    let mul = match unit.trim() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => 1 << 10,
        "m" | "mb" | "mebibytes" => 1 << 20,
        "g" | "gb" | "gibibytes" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(mul)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_sizes() {
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("100 ms"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("250us"), Some(Duration::from_micros(250)));
        assert_eq!(parse_duration("7 ns"), Some(Duration::from_nanos(7)));
        assert_eq!(parse_duration("3 fortnights"), None);
        assert_eq!(parse_duration("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("5min"), Some(Duration::from_secs(300)));
        assert_eq!(parse_duration("fast"), None);
        assert_eq!(parse_memory("32kb"), Some(32768));
        assert_eq!(parse_memory("1 mb"), Some(1 << 20));
        assert_eq!(parse_memory("lots"), None);
    }
}
