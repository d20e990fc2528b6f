import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.LogAndContinueExceptionHandler;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.kstream.Suppressed;
import org.apache.kafka.streams.kstream.TimeWindows;
import org.apache.kafka.streams.processor.TimestampExtractor;
import org.apache.kafka.streams.processor.internals.DefaultKafkaClientSupplier;

/**
 * The stream benchmark's peer (ci/bench.d/stream.sh): `bigdata-jobs stream --kind bikes` written with Kafka
 * Streams, exactly_once_v2. Per station and one-minute tumbling window of event time (last_update), with the
 * same allowed lateness as grace: count and min/max/avg of available_bikes, one record per closed window
 * (suppress until the window closes), in the Rust job's JSON, to the output topic.
 *
 * <p>Semantics, as in jobs/src/window.rs: the input key is the station, so there is no repartition and a
 * task is one input partition; its stream time is the largest event time seen in that partition. A record
 * is late (dropped here; dead-lettered by the Rust job) when its window end is at or before stream time
 * minus the grace; a window is emitted once stream time minus the grace reaches its end.
 *
 * <pre>
 *   run --bootstrap H:P --input T --output T --application-id ID --state-dir DIR
 *       [--window-ms 60000] [--grace-ms 10000] [--commit-interval-ms 100] [--idle-ms 0] [--warmup-ms 0]
 *       runs until the group's committed offsets reach the input's end offsets (and, with --idle-ms,
 *       no record came for that long); prints one JSON line of results on stdout. With --warmup-ms, the
 *       commit latency is also given without the transactions committed in the first W ms after the first
 *       record (steady_*)
 *   dump --bootstrap H:P --topic T
 *       prints every committed record's value (read_committed), one a line, up to the end offsets
 *   produce --bootstrap H:P --topic T --rate R --seconds S [--stations 100] [--seed 1]
 *       R bike events a second for S seconds, event time (last_update) = the wall clock, in the JSON and
 *       with the key of `bigdata-jobs generate --kind bikes` (its producer settings too: idempotent, lz4,
 *       linger.ms=20); prints one JSON line (produced, seconds) on stdout. The latency run's load: `generate
 *       --rate` polls librdkafka with a zero timeout while it waits for its token bucket, i.e. spins a core
 *       whatever the rate, which would starve a 2-core machine
 * </pre>
 *
 * <p>Commit latency (the same definition as the Rust job's bigdata_stream_commit_latency_seconds): per input
 * record, the wall time at which the transaction that consumed it (the input offsets are committed in the
 * transaction) committed, minus the record's Kafka timestamp. The Kafka timestamp is taken in the timestamp
 * extractor (which sees the ConsumerRecord), kept on the event, collected when the record is processed, and
 * turned into latencies when the stream thread's producer returns from commitTransaction (the producer is
 * wrapped through a KafkaClientSupplier). One stream thread, so processing and commits share a thread.
 */
public final class BigdataStreamsBench {
  /** One input event: what the aggregate needs, plus the record's Kafka timestamp (not JSON). */
  public static final class Bike {
    public int number;
    public int available_bikes;
    public long last_update;
    long kafkaTimestamp;
  }

  /** A window's running aggregate. */
  static final class Agg {
    long count;
    int min = Integer.MAX_VALUE;
    int max = Integer.MIN_VALUE;
    long sum;
  }

  static final ObjectMapper JSON =
      new ObjectMapper().configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

  static final class BikeSerde implements Serde<Bike> {
    @Override
    public org.apache.kafka.common.serialization.Serializer<Bike> serializer() {
      return (topic, b) -> {
        throw new UnsupportedOperationException("events are only read");
      };
    }

    @Override
    public Deserializer<Bike> deserializer() {
      return (topic, data) -> {
        try {
          return data == null ? null : JSON.readValue(data, Bike.class);
        } catch (java.io.IOException e) {
          throw new org.apache.kafka.common.errors.SerializationException("not a bike event", e);
        }
      };
    }
  }

  static final class AggSerde implements Serde<Agg> {
    @Override
    public org.apache.kafka.common.serialization.Serializer<Agg> serializer() {
      return (topic, a) ->
          a == null
              ? null
              : ByteBuffer.allocate(24).putLong(a.count).putInt(a.min).putInt(a.max).putLong(a.sum).array();
    }

    @Override
    public Deserializer<Agg> deserializer() {
      return (topic, data) -> {
        if (data == null) return null;
        ByteBuffer b = ByteBuffer.wrap(data);
        Agg a = new Agg();
        a.count = b.getLong();
        a.min = b.getInt();
        a.max = b.getInt();
        a.sum = b.getLong();
        return a;
      };
    }
  }

  /** Event time from last_update; keeps the Kafka timestamp on the event for the commit latency. */
  public static final class EventTime implements TimestampExtractor {
    @Override
    public long extract(ConsumerRecord<Object, Object> record, long partitionTime) {
      if (!(record.value() instanceof Bike b)) return -1; // dropped (and logged) by Kafka Streams
      b.kafkaTimestamp = record.timestamp();
      return b.last_update;
    }
  }

  // ------------------------------------------------------------------------------------- commit latency

  /** The Rust job's buckets (jobs/src/metrics.rs latency_buckets): 16 a decade, 1 ms to 90 s, then +Inf. */
  static final double[] BOUNDS = bounds();

  static double[] bounds() {
    int[] fine = {100, 120, 140, 160, 180, 200, 250, 300, 350, 400, 450, 500, 600, 700, 800, 900};
    double[] out = new double[5 * fine.length];
    int i = 0;
    for (long decade : new long[] {10, 100, 1_000, 10_000, 100_000}) {
      for (int m : fine) out[i++] = (m * decade) / 1e6;
    }
    return out;
  }

  static final class Latency {
    private long[] pending = new long[1 << 14];
    private int pendingCount;
    private final long[] counts = new long[BOUNDS.length + 1];
    private long[] warm = new long[BOUNDS.length + 1];
    private long commits;

    /** On the stream thread, for each record processed. */
    void processed(long kafkaTimestamp) {
      if (pendingCount == pending.length) pending = java.util.Arrays.copyOf(pending, pending.length * 2);
      pending[pendingCount++] = kafkaTimestamp;
    }

    /** On the stream thread, when its transaction committed. */
    synchronized void committed() {
      long now = System.currentTimeMillis();
      for (int i = 0; i < pendingCount; i++) {
        double v = Math.max(0, now - pending[i]) / 1000.0;
        int lo = 0, hi = BOUNDS.length; // the first bound >= v, or BOUNDS.length (+Inf)
        while (lo < hi) {
          int mid = (lo + hi) >>> 1;
          if (BOUNDS[mid] < v) lo = mid + 1;
          else hi = mid;
        }
        counts[lo]++;
      }
      pendingCount = 0;
      commits++;
    }

    void aborted() {
      pendingCount = 0;
    }

    /** Marks the end of the warm-up: steady quantiles count what is committed from now on. */
    synchronized void endWarmup() {
      warm = counts.clone();
    }

    /** As the Rust job's Histogram::quantile (histogram_quantile), in ms; -1 without observations. */
    synchronized double quantileMs(double q) {
      return quantileMs(q, new long[counts.length]);
    }

    synchronized double steadyQuantileMs(double q) {
      return quantileMs(q, warm);
    }

    synchronized long steadyCount() {
      long total = 0;
      for (int i = 0; i < counts.length; i++) total += counts[i] - warm[i];
      return total;
    }

    private double quantileMs(double q, long[] base) {
      long total = 0;
      for (int i = 0; i < counts.length; i++) total += counts[i] - base[i];
      if (total == 0) return -1;
      double rank = q * total;
      long below = 0;
      for (int i = 0; i < counts.length; i++) {
        long n = counts[i] - base[i];
        if (n > 0 && below + n >= rank) {
          if (i == BOUNDS.length) return BOUNDS[BOUNDS.length - 1] * 1000;
          double lower = i == 0 ? 0 : BOUNDS[i - 1];
          double v = lower + (BOUNDS[i] - lower) * (rank - below) / n;
          return Math.round(v * 10_000) / 10.0;
        }
        below += n;
      }
      return BOUNDS[BOUNDS.length - 1] * 1000;
    }

    synchronized long count() {
      long total = 0;
      for (long c : counts) total += c;
      return total;
    }

    synchronized long commits() {
      return commits;
    }
  }

  static final Latency LATENCY = new Latency();

  /** Kafka Streams' clients, with a producer that reports its transactions' commits. */
  static final class TimedClients extends DefaultKafkaClientSupplier {
    @Override
    public Producer<byte[], byte[]> getProducer(Map<String, Object> config) {
      return new KafkaProducer<>(config, new ByteArraySerializer(), new ByteArraySerializer()) {
        @Override
        public void commitTransaction() {
          super.commitTransaction();
          LATENCY.committed();
        }

        @Override
        public void abortTransaction() {
          LATENCY.aborted();
          super.abortTransaction();
        }
      };
    }
  }

  // ------------------------------------------------------------------------------------------------ main

  static Map<String, String> options(String[] args, int from) {
    Map<String, String> o = new HashMap<>();
    for (int i = from; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException("bad option " + args[i]);
      o.put(args[i].substring(2), args[i + 1]);
    }
    return o;
  }

  static String need(Map<String, String> o, String k) {
    String v = o.get(k);
    if (v == null) throw new IllegalArgumentException("missing --" + k);
    return v;
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) throw new IllegalArgumentException("usage: run|dump --option value ...");
    Map<String, String> o = options(args, 1);
    switch (args[0]) {
      case "run" -> run(o);
      case "dump" -> dump(need(o, "bootstrap"), need(o, "topic"));
      case "produce" -> produce(o);
      default -> throw new IllegalArgumentException("unknown mode " + args[0]);
    }
  }

  static Map<TopicPartition, Long> endOffsets(Admin admin, List<TopicPartition> tps)
      throws InterruptedException, ExecutionException {
    Map<TopicPartition, OffsetSpec> req = new HashMap<>();
    for (TopicPartition tp : tps) req.put(tp, OffsetSpec.latest());
    Map<TopicPartition, Long> out = new HashMap<>();
    for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e :
        admin.listOffsets(req).all().get().entrySet()) {
      out.put(e.getKey(), e.getValue().offset());
    }
    return out;
  }

  static void run(Map<String, String> o) throws Exception {
    String bootstrap = need(o, "bootstrap");
    String input = need(o, "input");
    String output = need(o, "output");
    String appId = need(o, "application-id");
    long windowMs = Long.parseLong(o.getOrDefault("window-ms", "60000"));
    long graceMs = Long.parseLong(o.getOrDefault("grace-ms", "10000"));
    long idleMs = Long.parseLong(o.getOrDefault("idle-ms", "0"));
    long warmupMs = Long.parseLong(o.getOrDefault("warmup-ms", "0"));

    Properties ap = new Properties();
    ap.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    try (Admin admin = Admin.create(ap)) {
      int partitions = admin.describeTopics(List.of(input)).allTopicNames().get().get(input).partitions().size();
      try {
        admin.createTopics(List.of(new NewTopic(output, partitions, (short) 1))).all().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
      }
      List<TopicPartition> tps = new ArrayList<>();
      for (int p = 0; p < partitions; p++) tps.add(new TopicPartition(input, p));

      AtomicLong processed = new AtomicLong();
      AtomicLong firstNanos = new AtomicLong();
      AtomicLong lastNanos = new AtomicLong();
      AtomicLong lastWallMs = new AtomicLong();
      AtomicLong firstWallMs = new AtomicLong();

      StreamsBuilder builder = new StreamsBuilder();
      builder.stream(input, Consumed.with(Serdes.String(), new BikeSerde()).withTimestampExtractor(new EventTime()))
          .peek((station, bike) -> {
            long t = System.nanoTime();
            if (processed.getAndIncrement() == 0) {
              firstNanos.set(t);
              firstWallMs.set(System.currentTimeMillis());
            }
            lastNanos.set(t);
            LATENCY.processed(bike.kafkaTimestamp);
          })
          .groupByKey()
          .windowedBy(TimeWindows.ofSizeAndGrace(Duration.ofMillis(windowMs), Duration.ofMillis(graceMs)))
          .aggregate(
              Agg::new,
              (station, bike, agg) -> {
                agg.count++;
                agg.min = Math.min(agg.min, bike.available_bikes);
                agg.max = Math.max(agg.max, bike.available_bikes);
                agg.sum += bike.available_bikes;
                return agg;
              },
              Materialized.with(Serdes.String(), new AggSerde()))
          .suppress(Suppressed.untilWindowCloses(Suppressed.BufferConfig.unbounded()))
          .toStream()
          .map((w, a) -> KeyValue.pair(w.key(), "{\"station\":" + w.key()
              + ",\"window_start\":" + w.window().start()
              + ",\"window_end\":" + w.window().end()
              + ",\"count\":" + a.count
              + ",\"min_available_bikes\":" + a.min
              + ",\"max_available_bikes\":" + a.max
              + ",\"avg_available_bikes\":" + ((double) a.sum / a.count) + "}"))
          .to(output, Produced.with(Serdes.String(), Serdes.String()));

      Properties sp = new Properties();
      sp.put(StreamsConfig.APPLICATION_ID_CONFIG, appId);
      sp.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      sp.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
      sp.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
      sp.put(StreamsConfig.STATE_DIR_CONFIG, need(o, "state-dir"));
      sp.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, LogAndContinueExceptionHandler.class);
      if (o.containsKey("commit-interval-ms")) {
        sp.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, Long.parseLong(o.get("commit-interval-ms")));
      }
      sp.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

      KafkaStreams streams = new KafkaStreams(builder.build(), sp, new TimedClients());
      // For the latency run: the load starts once the partitions are assigned and the tasks run.
      streams.setStateListener((now, before) -> {
        if (now == KafkaStreams.State.RUNNING) System.err.println("bench: streams RUNNING");
      });
      long started = System.nanoTime();
      streams.start();
      long doneNanos = 0;
      long lastCount = -1;
      boolean warmedUp = warmupMs == 0;
      while (true) {
        Thread.sleep(100);
        if (!warmedUp && firstWallMs.get() > 0 && System.currentTimeMillis() - firstWallMs.get() >= warmupMs) {
          LATENCY.endWarmup();
          warmedUp = true;
        }
        KafkaStreams.State state = streams.state();
        if (state == KafkaStreams.State.ERROR || state == KafkaStreams.State.NOT_RUNNING) {
          throw new IllegalStateException("Kafka Streams stopped: " + state);
        }
        long n = processed.get();
        if (n != lastCount) {
          lastCount = n;
          lastWallMs.set(System.currentTimeMillis());
        }
        if (n == 0) continue;
        Map<TopicPartition, Long> ends = endOffsets(admin, tps);
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets(appId).partitionsToOffsetAndMetadata().get();
        boolean caughtUp = true;
        for (TopicPartition tp : tps) {
          OffsetAndMetadata c = committed.get(tp);
          long end = ends.get(tp);
          if (end > 0 && (c == null || c.offset() < end)) caughtUp = false;
        }
        if (!caughtUp) {
          doneNanos = 0;
          continue;
        }
        if (doneNanos == 0) doneNanos = System.nanoTime();
        if (System.currentTimeMillis() - lastWallMs.get() >= idleMs) break;
      }
      streams.close(Duration.ofSeconds(60));
      double busy = (lastNanos.get() - firstNanos.get()) / 1e9;
      double toCommitted = (doneNanos - firstNanos.get()) / 1e9;
      long n = processed.get();
      System.out.printf(
          java.util.Locale.ROOT,
          "{\"records_in\":%d,\"busy_seconds\":%.3f,\"records_per_s\":%.0f,\"first_record_to_committed_s\":%.3f,"
              + "\"records_per_s_to_committed\":%.0f,\"seconds\":%.3f,\"transactions\":%d,"
              + "\"commit_latency_count\":%d,\"commit_latency_p50_ms\":%.1f,\"commit_latency_p99_ms\":%.1f,"
              + "\"steady_count\":%d,\"steady_p50_ms\":%.1f,\"steady_p99_ms\":%.1f}%n",
          n, busy, n / Math.max(busy, 1e-3), toCommitted, n / Math.max(toCommitted, 1e-3),
          (System.nanoTime() - started) / 1e9, LATENCY.commits(), LATENCY.count(),
          LATENCY.quantileMs(0.5), LATENCY.quantileMs(0.99),
          LATENCY.steadyCount(), LATENCY.steadyQuantileMs(0.5), LATENCY.steadyQuantileMs(0.99));
    }
  }

  static void produce(Map<String, String> o) throws Exception {
    String topic = need(o, "topic");
    long rate = Long.parseLong(need(o, "rate"));
    long seconds = Long.parseLong(need(o, "seconds"));
    int stations = Integer.parseInt(o.getOrDefault("stations", "100"));
    java.util.SplittableRandom random = new java.util.SplittableRandom(Long.parseLong(o.getOrDefault("seed", "1")));
    Properties pp = new Properties();
    pp.put("bootstrap.servers", need(o, "bootstrap"));
    pp.put("enable.idempotence", "true");
    pp.put("acks", "all");
    pp.put("linger.ms", "20");
    pp.put("compression.type", "lz4");
    long total = rate * seconds;
    AtomicLong failed = new AtomicLong();
    long start;
    try (KafkaProducer<String, String> producer =
        new KafkaProducer<>(pp, new org.apache.kafka.common.serialization.StringSerializer(),
            new org.apache.kafka.common.serialization.StringSerializer())) {
      producer.partitionsFor(topic); // metadata before the clock starts
      start = System.nanoTime();
      long sent = 0;
      while (sent < total) {
        long due = Math.min(total, (System.nanoTime() - start) * rate / 1_000_000_000L + 1);
        for (; sent < due; sent++) {
          int number = 1 + random.nextInt(stations);
          int stands = 10 + number % 30;
          int bikes = random.nextInt(stands + 1);
          String padded = number < 10000 ? Integer.toString(10000 + number).substring(1) : Integer.toString(number);
          String json = "{\"number\":" + number + ",\"contract_name\":\"lyon\",\"name\":\"STATION "
              + padded + "\",\"bike_stands\":" + stands + ",\"available_bike_stands\":"
              + (stands - bikes) + ",\"available_bikes\":" + bikes + ",\"status\":\"OPEN\",\"last_update\":"
              + System.currentTimeMillis() + "}";
          producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(topic, Integer.toString(number), json),
              (md, e) -> { if (e != null) failed.incrementAndGet(); });
        }
        Thread.sleep(1);
      }
      producer.flush();
    }
    if (failed.get() > 0) throw new IllegalStateException(failed.get() + " events were not delivered");
    System.out.printf(java.util.Locale.ROOT, "{\"produced\":%d,\"seconds\":%.3f}%n", total, (System.nanoTime() - start) / 1e9);
  }

  static void dump(String bootstrap, String topic) {
    Properties cp = new Properties();
    cp.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    cp.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    cp.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    try (KafkaConsumer<String, String> c =
        new KafkaConsumer<>(cp, new StringDeserializer(), new StringDeserializer())) {
      List<TopicPartition> tps = new ArrayList<>();
      c.partitionsFor(topic, Duration.ofSeconds(30)).forEach(p -> tps.add(new TopicPartition(topic, p.partition())));
      c.assign(tps);
      c.seekToBeginning(tps);
      Map<TopicPartition, Long> ends = c.endOffsets(tps); // read_committed: the last stable offsets
      StringBuilder out = new StringBuilder();
      long deadline = System.currentTimeMillis() + 120_000;
      while (tps.stream().anyMatch(tp -> c.position(tp) < ends.get(tp))) {
        if (System.currentTimeMillis() > deadline) throw new IllegalStateException("dump: not at the end after 120 s");
        ConsumerRecords<String, String> records = c.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, String> r : records) out.append(r.value()).append('\n');
        if (out.length() > 1 << 20) {
          System.out.print(out);
          out.setLength(0);
        }
      }
      System.out.print(out);
      System.out.flush();
    }
  }
}
