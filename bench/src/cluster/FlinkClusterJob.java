// The Flink side of `strom_bench cluster`: the shape of strom's built-in `keyed-window` job
// (generator -> keyBy -> 1 s tumbling event-time window -> count per key -> discard), so that
// both engines deploy two vertices of the same parallelism. Written out, compiled and packed
// into a jar by the benchmark (javac against the Flink jars of the pip package).
//
// Record i is (i mod keys, 1) with event time i * 1000 / 1_000_000 ms (the generator's virtual
// clock, as strom's job); the source is rate-limited to `rate` records per second over all
// subtasks (Flink's RateLimiterStrategy.perSecond, strom's --rate).
// Usage: flink run -d -m HOST:PORT -p P -c FlinkClusterJob jar RECORDS RATE [KEYS]
import java.time.Duration;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;

public class FlinkClusterJob {
    public static void main(String[] args) throws Exception {
        long records = Long.parseLong(args[0]);
        double rate = Double.parseDouble(args[1]);
        long keys = args.length > 2 ? Long.parseLong(args[2]) : 10_000L;
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        DataGeneratorSource<Tuple2<Long, Long>> src = new DataGeneratorSource<>(
                i -> Tuple2.of(i % keys, i), records, RateLimiterStrategy.perSecond(rate),
                Types.TUPLE(Types.LONG, Types.LONG));
        env.fromSource(src, WatermarkStrategy.<Tuple2<Long, Long>>forMonotonousTimestamps()
                        .withTimestampAssigner((t, ts) -> t.f1 / 1000), "gen")
                .keyBy(t -> t.f0)
                .window(TumblingEventTimeWindows.of(Duration.ofSeconds(1)))
                .aggregate(new CountAgg())
                .sinkTo(new DiscardingSink<>());
        env.executeAsync("keyed-window-p" + env.getParallelism() + "-rate" + (long) rate);
    }

    public static class CountAgg implements AggregateFunction<Tuple2<Long, Long>, Long, Long> {
        public Long createAccumulator() { return 0L; }
        public Long add(Tuple2<Long, Long> v, Long acc) { return acc + 1; }
        public Long getResult(Long acc) { return acc; }
        public Long merge(Long a, Long b) { return a + b; }
    }
}
