//! Keyed connect: two keyed streams share keyed state and timers per key
//! (KeyedCoProcessFunction), whatever order their records arrive in.

use std::collections::BTreeMap;
use strom_runtime::api::{
    KeyedCoProcessFunction, KeyedContext, KeyedStateStore, StreamEnv, UserError, WatermarkStrategy,
};
use strom_runtime::sink::CollectHandle;
use strom_runtime::state::ValueState;
use strom_tests::cluster;

/// A ride (id, start timestamp) and a fare (id, amount) meet by id; a ride whose fare has
/// not come within 1000 ms of event time is reported alone, by an event-time timer.
#[derive(Clone, Default)]
struct Enrich {
    ride: Option<ValueState<u64, i64>>,
    fare: Option<ValueState<u64, u64>>,
}

/// Output: (ride id, ride start or -1, fare or 0).
type Out = (u64, i64, u64);

impl KeyedCoProcessFunction<u64, (u64, i64), (u64, u64), Out> for Enrich {
    fn open(&mut self, state: &mut KeyedStateStore<u64>) -> Result<(), UserError> {
        self.ride = Some(state.value_state("ride")?);
        self.fare = Some(state.value_state("fare")?);
        Ok(())
    }

    fn process_element1(
        &mut self,
        ride: (u64, i64),
        ctx: &mut KeyedContext<'_, u64, Out>,
    ) -> Result<(), UserError> {
        let fare = self.fare.as_ref().ok_or("not opened")?;
        match fare.value()? {
            Some(f) => {
                fare.clear()?;
                ctx.collect((ride.0, ride.1, f));
            }
            None => {
                self.ride.as_ref().ok_or("not opened")?.update(ride.1)?;
                ctx.register_event_time_timer(ride.1 + 1000);
            }
        }
        Ok(())
    }

    fn process_element2(
        &mut self,
        fare: (u64, u64),
        ctx: &mut KeyedContext<'_, u64, Out>,
    ) -> Result<(), UserError> {
        let ride = self.ride.as_ref().ok_or("not opened")?;
        match ride.value()? {
            Some(start) => {
                ride.clear()?;
                ctx.delete_event_time_timer(start + 1000);
                ctx.collect((fare.0, start, fare.1));
            }
            None => self.fare.as_ref().ok_or("not opened")?.update(fare.1)?,
        }
        Ok(())
    }

    fn on_timer(
        &mut self,
        _at: i64,
        ctx: &mut KeyedContext<'_, u64, Out>,
    ) -> Result<(), UserError> {
        let ride = self.ride.as_ref().ok_or("not opened")?;
        if let Some(start) = ride.value()? {
            ride.clear()?;
            ctx.collect((*ctx.key(), start, 0));
        }
        Ok(())
    }
}

#[test]
fn rides_meet_their_fares_in_either_order_and_timers_report_the_rest() {
    // Rides 0..3000 start at 10 ms intervals; fares exist for ids not divisible by 7, and
    // fares for ids divisible by 5 are never matched by a ride (ids ≥ 3000).
    let rides: Vec<(u64, i64)> = (0..3000).map(|i| (i, i as i64 * 10)).collect();
    let fares: Vec<(u64, u64)> = (0..3000)
        .filter(|i| i % 7 != 0)
        .map(|i| (i, i * 3))
        .chain((3000..3100).map(|i| (i, 1)))
        .collect();
    let mut expected: BTreeMap<u64, Out> = BTreeMap::new();
    for &(id, start) in &rides {
        let fare = if id % 7 != 0 { id * 3 } else { 0 };
        expected.insert(id, (id, start, fare));
    }
    let out = CollectHandle::<Out>::new();
    let o = out.clone();
    cluster(3)
        .execute("rides-and-fares", move |env: &mut StreamEnv| {
            let rides = env
                .from_collection(rides.clone())
                .assign_timestamps_and_watermarks(
                    WatermarkStrategy::for_monotonous_timestamps()
                        .with_timestamp_assigner(|r: &(u64, i64), _| r.1),
                )
                .key_by(|r: &(u64, i64)| r.0);
            let fares = env
                .from_collection(fares.clone())
                .rebalance()
                .map(|f| f)
                .set_parallelism(2)
                .key_by(|f: &(u64, u64)| f.0);
            rides
                .connect(&fares)
                .process(Enrich::default())
                .set_parallelism(3)
                .collect(&o);
            Ok(())
        })
        .unwrap()
        .wait()
        .unwrap();
    let got: BTreeMap<u64, Out> = out.items().into_iter().map(|r| (r.0, r)).collect();
    assert_eq!(
        got.len(),
        expected.len(),
        "one result per ride, none duplicated"
    );
    assert!(got == expected, "results differ from the reference");
}
