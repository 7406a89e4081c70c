//! Combines the watermarks of several input channels into one (Flink's StatusWatermarkValve).

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
}

impl WatermarkValve {
    /// A valve over `n` channels, all active, none with a watermark yet.
    pub fn new(n: usize) -> Self {
        WatermarkValve {
            channels: vec![
                ChannelWatermark {
                    watermark: Millis::MIN,
                    idle: false
                };
                n
            ],
            emitted: Millis::MIN,
        }
    }

    /// A channel's watermark; returns the new combined watermark if it advanced.
    pub fn watermark(&mut self, channel: usize, w: Millis) -> Option<Millis> {
        let c = &mut self.channels[channel];
        if w > c.watermark {
            c.watermark = w;
        }
        c.idle = false;
        self.advance()
    }

    /// A channel became idle (`true`) or active again; returns a new combined watermark if
    /// dropping the channel from the minimum advanced it.
    pub fn status(&mut self, channel: usize, idle: bool) -> Option<Millis> {
        self.channels[channel].idle = idle;
        self.advance()
    }

    /// A channel ended: it no longer holds the watermark back.
    pub fn end(&mut self, channel: usize) -> Option<Millis> {
        self.channels[channel] = ChannelWatermark {
            watermark: Millis::MAX,
            idle: false,
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
            .filter(|c| !c.idle)
            .map(|c| c.watermark)
            .min()?;
        if min > self.emitted {
            self.emitted = min;
            Some(min)
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
}
