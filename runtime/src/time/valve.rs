//! Combines the watermarks of several input channels into one (Flink's StatusWatermarkValve).
//!
//! Rules, as Flink's: the output is the minimum over channels that are active *and aligned*;
//! a channel is aligned while its watermark is at or past the last output (a channel that
//! comes back from idleness behind the output stays out of the minimum until it catches up,
//! so it cannot stall event time); when the last active channel goes idle, the largest
//! watermark of all channels is output; the output never goes backwards.

use crate::operator::Millis;

/// Per-channel watermarks and idleness; the output is the minimum over active channels and
/// never goes backwards.
pub struct WatermarkValve {
    channels: Vec<ChannelWatermark>,
    emitted: Millis,
}

#[derive(Clone, Copy)]
struct ChannelWatermark {
    watermark: Millis,
    idle: bool,
    aligned: bool,
}

impl WatermarkValve {
    /// A valve over `n` channels, all active, none with a watermark yet.
    pub fn new(n: usize) -> Self {
        WatermarkValve {
            channels: vec![
                ChannelWatermark {
                    watermark: Millis::MIN,
                    idle: false,
                    aligned: true,
                };
                n
            ],
            emitted: Millis::MIN,
        }
    }

    /// A channel's watermark; returns the new combined watermark if it advanced.
    pub fn watermark(&mut self, channel: usize, w: Millis) -> Option<Millis> {
        let emitted = self.emitted;
        let c = &mut self.channels[channel];
        if w > c.watermark {
            c.watermark = w;
        }
        c.idle = false;
        if c.watermark >= emitted {
            c.aligned = true;
        }
        self.advance()
    }

    /// A channel became idle (`true`) or active again; returns a new combined watermark if
    /// dropping the channel from the minimum advanced it.
    pub fn status(&mut self, channel: usize, idle: bool) -> Option<Millis> {
        let emitted = self.emitted;
        let c = &mut self.channels[channel];
        c.idle = idle;
        c.aligned = !idle && c.watermark >= emitted;
        if idle && self.all_idle() {
            let max = self.channels.iter().map(|c| c.watermark).max()?;
            return self.output(max);
        }
        self.advance()
    }

    /// A channel ended: it no longer holds the watermark back.
    pub fn end(&mut self, channel: usize) -> Option<Millis> {
        self.channels[channel] = ChannelWatermark {
            watermark: Millis::MAX,
            idle: false,
            aligned: true,
        };
        self.advance()
    }

    /// Whether every channel is idle (the whole input is idle).
    pub fn all_idle(&self) -> bool {
        self.channels.iter().all(|c| c.idle)
    }

    fn advance(&mut self) -> Option<Millis> {
        let min = self
            .channels
            .iter()
            .filter(|c| !c.idle && c.aligned)
            .map(|c| c.watermark)
            .min()?;
        self.output(min)
    }

    fn output(&mut self, w: Millis) -> Option<Millis> {
        if w > self.emitted {
            self.emitted = w;
            Some(w)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_over_active_channels() {
        let mut v = WatermarkValve::new(3);
        assert_eq!(v.watermark(0, 10), None);
        assert_eq!(v.watermark(1, 5), None);
        assert_eq!(v.watermark(2, 7), Some(5));
        assert_eq!(v.watermark(1, 20), Some(7));
        assert_eq!(v.status(2, true), Some(10));
        assert_eq!(
            v.watermark(2, 8),
            None,
            "an idle channel coming back behind does not rewind"
        );
        assert_eq!(v.end(2), None);
        assert_eq!(v.watermark(0, 30), Some(20));
        assert_eq!(v.end(1), Some(30));
    }

    #[test]
    fn all_idle_outputs_the_largest_watermark() {
        let mut v = WatermarkValve::new(2);
        assert_eq!(v.watermark(0, 198), None);
        assert_eq!(v.watermark(1, 8), Some(8));
        assert_eq!(v.status(0, true), None, "channel 1 still holds it at 8");
        assert_eq!(v.status(1, true), Some(198));
        assert!(v.all_idle());
    }

    #[test]
    fn a_channel_back_from_idle_behind_does_not_stall() {
        let mut v = WatermarkValve::new(2);
        v.watermark(0, 5);
        assert_eq!(v.watermark(1, 5), Some(5));
        assert_eq!(v.status(1, true), None);
        assert_eq!(v.watermark(0, 110), Some(110));
        // Channel 1 comes back at 9: it stays out of the minimum until it passes 110.
        assert_eq!(v.status(1, false), None);
        assert_eq!(v.watermark(1, 9), None);
        assert_eq!(v.watermark(0, 200), Some(200));
        assert_eq!(v.watermark(1, 150), None, "150 is behind the output 200");
        assert_eq!(
            v.watermark(1, 250),
            None,
            "aligned again; the minimum is 200"
        );
        assert_eq!(v.watermark(0, 300), Some(250));
    }
}
