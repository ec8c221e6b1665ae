// The Kafka Streams side of test/e2e/kafka-streams.test.ts, one JVM per role:
//   streams <bootstrap> <application id> <processing.guarantee> <input topic> <output topic> <state dir>
//     runs one instance of a word count (lines -> words -> repartition by word -> count in the state store "counts",
//     whose changelog is a compacted topic -> output topic) until it is killed, or closes it cleanly on SIGTERM.
//     Prints "state <STATE>" on every state change.
//   read-counts <bootstrap>
//     a read_committed consumer without a group: each topic named on a stdin line is read from its beginning, every
//     record printed as a JSON line {"topic","partition","offset","key","value"} (String key, Long value); exits when
//     stdin closes. Prints "ready" once it polls.
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.LongDeserializer;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.Grouped;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Produced;

public final class WordCount {
  public static void main(String[] args) throws Exception {
    switch (args.length > 0 ? args[0] : "") {
      case "streams" -> streams(args[1], args[2], args[3], args[4], args[5], args[6]);
      case "read-counts" -> readCounts(args[1]);
      default -> {
        System.err.println("usage: WordCount streams <bootstrap> <app id> <guarantee> <input> <output> <state dir> | read-counts <bootstrap>");
        System.exit(2);
      }
    }
  }

  static void streams(String bootstrap, String applicationId, String guarantee, String input, String output, String stateDir) throws InterruptedException {
    StreamsBuilder builder = new StreamsBuilder();
    builder.stream(input, Consumed.with(Serdes.String(), Serdes.String()))
        .flatMapValues(line -> Arrays.asList(line.toLowerCase(Locale.ROOT).split("\\W+")))
        .filter((key, word) -> !word.isEmpty())
        .groupBy((key, word) -> word, Grouped.with("words", Serdes.String(), Serdes.String()))
        .count(Materialized.as("counts"))
        .toStream()
        .to(output, Produced.with(Serdes.String(), Serdes.Long()));

    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, guarantee);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir);
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, 1);
    // No record cache: every update of a count is sent downstream, so the output holds each count 1, 2, 3, ... of a
    // word and a duplicate or a gap after a crash is visible.
    props.put(StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0);
    props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 200);
    // Consumed repartition records are deleted (DeleteRecords) every second rather than every 30, so even a short
    // run does what a long-running application does to the broker.
    props.put(StreamsConfig.REPARTITION_PURGE_INTERVAL_MS_CONFIG, 1000);
    // A killed instance's member is replaced by the restarted one at once rather than after its session times out.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), applicationId + "-instance");
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG), 10_000);
    // Small polls keep a run in progress long enough for a test to kill it mid-way.
    props.put(StreamsConfig.consumerPrefix(ConsumerConfig.MAX_POLL_RECORDS_CONFIG), 50);

    KafkaStreams streams = new KafkaStreams(builder.build(), props);
    CountDownLatch closed = new CountDownLatch(1);
    streams.setStateListener((newState, oldState) -> {
      System.out.println("state " + newState);
      System.out.flush();
    });
    streams.setUncaughtExceptionHandler(exception -> {
      System.err.println("uncaught: " + exception);
      exception.printStackTrace();
      return org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      streams.close(Duration.ofSeconds(30));
      closed.countDown();
    }));
    streams.start();
    closed.await();
  }

  static void readCounts(String bootstrap) throws Exception {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    ConcurrentLinkedQueue<String> requested = new ConcurrentLinkedQueue<>();
    CountDownLatch stdinClosed = new CountDownLatch(1);
    Thread stdin = new Thread(() -> {
      try (BufferedReader reader = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
        for (String line = reader.readLine(); line != null; line = reader.readLine()) {
          if (!line.isBlank()) requested.add(line.trim());
        }
      } catch (Exception ignored) {
        // stdin gone: the same as closed
      }
      stdinClosed.countDown();
    });
    stdin.setDaemon(true);
    stdin.start();
    try (KafkaConsumer<String, Long> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new LongDeserializer())) {
      Set<TopicPartition> assigned = new HashSet<>();
      System.out.println("ready");
      System.out.flush();
      while (stdinClosed.getCount() > 0) {
        for (String topic = requested.poll(); topic != null; topic = requested.poll()) {
          List<PartitionInfo> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30));
          List<TopicPartition> added = new ArrayList<>();
          for (PartitionInfo partition : partitions) added.add(new TopicPartition(topic, partition.partition()));
          assigned.addAll(added);
          consumer.assign(assigned);
          consumer.seekToBeginning(added);
        }
        if (assigned.isEmpty()) {
          Thread.sleep(50);
          continue;
        }
        StringBuilder out = new StringBuilder();
        for (ConsumerRecord<String, Long> record : consumer.poll(Duration.ofMillis(200))) {
          out.append("{\"topic\":\"").append(record.topic()).append("\",\"partition\":").append(record.partition())
              .append(",\"offset\":").append(record.offset()).append(",\"key\":")
              .append(record.key() == null ? "null" : "\"" + record.key().replace("\\", "\\\\").replace("\"", "\\\"") + "\"")
              .append(",\"value\":").append(record.value()).append("}\n");
        }
        if (out.length() > 0) {
          System.out.print(out);
          System.out.flush();
        }
      }
    }
  }
}
