// The harness scenarios (compat-tests/README.md) with the Java producer, consumer and Admin client.
package dev.zombi.compat;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicCollection;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.apache.kafka.common.record.TimestampType;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

final class Scenarios {
  /** Thrown by a scenario the client cannot do; the message is the reason. */
  static final class Skip extends RuntimeException {
    Skip(String reason) {
      super(reason);
    }
  }

  static final long BASE_TIMESTAMP = 1_600_000_000_000L;
  private static final Duration WAIT = Duration.ofSeconds(30);

  private final String bootstrap;
  private final String topic;
  private final String group;

  Scenarios(String bootstrap, String topic, String group) {
    this.bootstrap = bootstrap;
    this.topic = topic;
    this.group = group;
  }

  String run(String scenario) throws Exception {
    return switch (scenario) {
      case "metadata" -> metadata();
      case "admin-create-describe-delete" -> adminCreateDescribeDelete();
      case "produce-consume-none" -> produceConsume("none");
      case "produce-consume-gzip" -> produceConsume("gzip");
      case "produce-consume-snappy" -> produceConsume("snappy");
      case "produce-consume-lz4" -> produceConsume("lz4");
      case "produce-consume-zstd" -> produceConsume("zstd");
      case "keys-headers-nulls" -> keysHeadersNulls();
      case "timestamps-create-time" -> timestampsCreateTime();
      case "timestamps-log-append-time" -> timestampsLogAppendTime();
      case "large-record-1mib" -> largeRecord();
      case "idempotent-producer" -> idempotentProducer();
      case "group-commit-resume" -> groupCommitResume("classic");
      case "kip848-group" -> groupCommitResume("consumer");
      case "consume-from-timestamp" -> consumeFromTimestamp();
      case "sasl-scram-tls" -> new SecureScenarios(topic).saslScramTls();
      case "acl-denied" -> new SecureScenarios(topic).aclDenied();
      case "compacted-topic" -> compactedTopic();
      case "transactions-read-committed" -> transactionsReadCommitted();
      default -> throw new IllegalArgumentException("unknown scenario " + scenario);
    };
  }

  // ---- clients -------------------------------------------------------------------------------

  static Properties producerProps(String bootstrap) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, "zombi-compat-java");
    props.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    props.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
    return props;
  }

  private KafkaProducer<byte[], byte[]> producer(Map<String, Object> overrides) {
    Properties props = producerProps(bootstrap);
    props.putAll(overrides);
    return new KafkaProducer<>(props);
  }

  static Properties consumerProps(String bootstrap, String groupId) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, "zombi-compat-java");
    props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
    if (groupId != null) props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    return props;
  }

  /** A group-less consumer (assign + seek): the Java consumer has one. */
  private KafkaConsumer<byte[], byte[]> consumer() {
    return new KafkaConsumer<>(consumerProps(bootstrap, null));
  }

  private Admin admin() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.CLIENT_ID_CONFIG, "zombi-compat-java-admin");
    return Admin.create(props);
  }

  /** Sends every record, waits for all acknowledgements (in send order). */
  private static List<RecordMetadata> sendAll(KafkaProducer<byte[], byte[]> producer, List<ProducerRecord<byte[], byte[]>> records) throws Exception {
    List<Future<RecordMetadata>> futures = new ArrayList<>(records.size());
    for (ProducerRecord<byte[], byte[]> record : records) futures.add(producer.send(record));
    producer.flush();
    List<RecordMetadata> acknowledged = new ArrayList<>(records.size());
    for (Future<RecordMetadata> future : futures) acknowledged.add(future.get());
    return acknowledged;
  }

  /** Reads partition `partition` of the topic from `fromOffset` until `count` records arrived. */
  private List<ConsumerRecord<byte[], byte[]>> consume(int partition, long fromOffset, int count, Map<String, Object> overrides) {
    Properties props = consumerProps(bootstrap, null);
    props.putAll(overrides);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      TopicPartition tp = new TopicPartition(topic, partition);
      consumer.assign(List.of(tp));
      consumer.seek(tp, fromOffset);
      return pollUntil(consumer, count);
    }
  }

  private List<ConsumerRecord<byte[], byte[]>> consume(int count) {
    return consume(0, 0, count, Map.of());
  }

  static List<ConsumerRecord<byte[], byte[]>> pollUntil(KafkaConsumer<byte[], byte[]> consumer, int count) {
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (records.size() < count) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("consumed " + records.size() + " of " + count + " records within " + WAIT.toSeconds() + " s");
      }
      for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) records.add(record);
    }
    if (records.size() > count) throw new AssertionError("consumed " + records.size() + " records, expected " + count);
    return records;
  }

  // ---- checks --------------------------------------------------------------------------------

  static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }

  static void check(boolean condition, String message) {
    if (!condition) throw new AssertionError(message);
  }

  // ---- compacted-topic ------------------------------------------------------------------------

  private static final long COMPACTED_COUNT = 200;

  /**
   * The harness wrote 200 records over 10 keys (every 9th a tombstone) and waited for the log cleaner:
   * reading from the beginning must give only records written at those offsets, each key's latest last;
   * a keyless record must be refused.
   */
  private String compactedTopic() throws Exception {
    List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (records.isEmpty() || records.get(records.size() - 1).offset() < COMPACTED_COUNT - 1) {
        check(System.nanoTime() < deadline, "did not reach offset " + (COMPACTED_COUNT - 1) + " within " + WAIT.toSeconds() + " s (read " + records.size() + ")");
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) records.add(record);
      }
    }
    long previous = -1;
    Map<String, Long> lastOfKey = new HashMap<>();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      long offset = record.offset();
      check(offset > previous, "offset " + offset + " after " + previous);
      previous = offset;
      check(offset < COMPACTED_COUNT, "offset " + offset + " was never written");
      checkBytes("key at offset " + offset, utf8("compact-key-" + (offset % 10)), record.key());
      checkBytes("value at offset " + offset, offset % 9 == 4 ? null : utf8("compact value " + offset), record.value());
      lastOfKey.put(new String(record.key(), StandardCharsets.UTF_8), offset);
    }
    check(previous == COMPACTED_COUNT - 1, "read up to offset " + previous);
    for (long latest = COMPACTED_COUNT - 10; latest < COMPACTED_COUNT; latest++) {
      String key = "compact-key-" + (latest % 10);
      check(Long.valueOf(latest).equals(lastOfKey.get(key)), "the last record of " + key + " read is at " + lastOfKey.get(key) + ", not its latest " + latest);
    }
    check(records.size() < COMPACTED_COUNT, "all " + records.size() + " records read: nothing was compacted");
    Throwable refused = null;
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
      producer.send(new ProducerRecord<>(topic, 0, null, utf8("a record without a key on a compacted topic"))).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException error) {
      refused = error.getCause();
    }
    check(refused != null, "a record without a key was accepted by the compacted topic");
    check(refused instanceof InvalidRecordException, "the keyless produce failed, but not with INVALID_RECORD: " + Main.describe(refused));
    return "read " + records.size() + " of " + COMPACTED_COUNT + " records: the latest per key at its offset, tombstone null; keyless record refused with "
        + refused.getClass().getSimpleName();
  }

  private static String show(byte[] bytes) {
    if (bytes == null) return "null";
    if (bytes.length > 40) return bytes.length + " bytes";
    StringBuilder hex = new StringBuilder("0x");
    for (byte b : bytes) hex.append(String.format("%02x", b));
    return hex.toString();
  }

  static void checkBytes(String what, byte[] expected, byte[] actual) {
    if (!Arrays.equals(expected, actual)) throw new AssertionError(what + ": expected " + show(expected) + ", got " + show(actual));
  }

  private static void checkOffsets(List<ConsumerRecord<byte[], byte[]>> records, long first) {
    for (int i = 0; i < records.size(); i++) {
      check(records.get(i).offset() == first + i, "record " + i + " has offset " + records.get(i).offset() + ", expected " + (first + i));
    }
  }

  // ---- scenarios -----------------------------------------------------------------------------

  private String metadata() throws Exception {
    String[] hostPort = bootstrap.split(":");
    String host = hostPort[0];
    int port = Integer.parseInt(hostPort[1]);
    Collection<Node> nodes;
    try (Admin admin = admin()) {
      nodes = admin.describeCluster().nodes().get();
    }
    check(nodes.size() == 1, "describeCluster: " + nodes.size() + " brokers " + nodes);
    Node node = nodes.iterator().next();
    check(node.host().equals(host) && node.port() == port, "broker advertised as " + node.host() + ":" + node.port() + ", bootstrap is " + bootstrap);
    List<PartitionInfo> partitions;
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      partitions = consumer.partitionsFor(topic, WAIT);
    }
    check(partitions.size() == 3, "partitionsFor: " + partitions.size() + " partitions");
    Set<Integer> ids = new HashSet<>();
    for (PartitionInfo partition : partitions) {
      ids.add(partition.partition());
      Node leader = partition.leader();
      check(leader != null && leader.id() == node.id() && leader.host().equals(host) && leader.port() == port,
          "partition " + partition.partition() + " led by " + leader);
    }
    check(ids.equals(Set.of(0, 1, 2)), "partition ids " + ids);
    return "1 broker (id " + node.id() + ") at " + host + ":" + port + ", 3 partitions led by it";
  }

  private String adminCreateDescribeDelete() throws Exception {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(topic, 3, (short) 1).configs(Map.of("retention.ms", "3600000")))).all().get();
      TopicDescription description = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic);
      check(description.partitions().size() == 3, "describeTopics: " + description.partitions().size() + " partitions");
      // By id too: the Java client then sends Metadata with the topic id and a "" name (not null).
      Uuid id = description.topicId();
      check(!Uuid.ZERO_UUID.equals(id), "describeTopics: topic id is zero");
      TopicDescription byId = admin.describeTopics(TopicCollection.ofTopicIds(List.of(id))).allTopicIds().get().get(id);
      check(byId != null && topic.equals(byId.name()) && byId.partitions().size() == 3, "describeTopics by id " + id + ": " + byId);
      ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
      Config config = admin.describeConfigs(List.of(resource)).all().get().get(resource);
      ConfigEntry retention = config.get("retention.ms");
      check(retention != null && "3600000".equals(retention.value()), "describeConfigs: retention.ms = " + retention);
      admin.deleteTopics(List.of(topic)).all().get();
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (admin.listTopics().names().get().contains(topic)) {
        check(System.nanoTime() < deadline, "topic still listed " + WAIT.toSeconds() + " s after deleteTopics");
        Thread.sleep(100);
      }
      return "created (3 partitions, retention.ms=3600000, source " + retention.source() + "), described by name and by id, deleted, gone from listTopics";
    }
  }

  /** The harness's value i (compat-tests/lib/scenarios.ts codecRecords): a line repeated to 1 KiB. */
  static byte[] codecValue(int i) {
    String line = "record " + i + " of the zombi compatibility harness; ";
    return utf8(line.repeat((1024 + line.length() - 1) / line.length()).substring(0, 1024));
  }

  private String produceConsume(String codec) throws Exception {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 100; i++) records.add(new ProducerRecord<>(topic, 0, utf8("key-" + i), codecValue(i)));
    // One batch if the client allows: 100 x 1 KiB fit in 256 KiB, and linger gives send() time to fill it.
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(
        ProducerConfig.COMPRESSION_TYPE_CONFIG, codec,
        ProducerConfig.LINGER_MS_CONFIG, 200,
        ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024))) {
      sendAll(producer, records);
    }
    List<ConsumerRecord<byte[], byte[]>> consumed = consume(100);
    checkOffsets(consumed, 0);
    for (int i = 0; i < 100; i++) {
      checkBytes("key of record " + i, records.get(i).key(), consumed.get(i).key());
      checkBytes("value of record " + i, records.get(i).value(), consumed.get(i).value());
    }
    return "100 records, compression.type=" + codec + ", consumed byte-exact at offsets 0-99";
  }

  private String keysHeadersNulls() throws Exception {
    List<Header> headers = List.of(
        new RecordHeader("h1", utf8("a")),
        new RecordHeader("h1", utf8("b")),
        new RecordHeader("h2", new byte[] {0x00, (byte) 0xff}));
    List<ProducerRecord<byte[], byte[]>> records = List.of(
        new ProducerRecord<>(topic, 0, null, utf8("k1"), utf8("v1"), headers),
        new ProducerRecord<>(topic, 0, null, utf8("v2")),
        new ProducerRecord<>(topic, 0, utf8("k3"), null),
        new ProducerRecord<>(topic, 0, new byte[0], new byte[0]));
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(ProducerConfig.LINGER_MS_CONFIG, 50))) {
      sendAll(producer, records);
    }
    List<ConsumerRecord<byte[], byte[]>> consumed = consume(4);
    checkOffsets(consumed, 0);
    for (int i = 0; i < 4; i++) {
      checkBytes("key of record " + (i + 1), records.get(i).key(), consumed.get(i).key());
      checkBytes("value of record " + (i + 1), records.get(i).value(), consumed.get(i).value());
    }
    Header[] got = consumed.get(0).headers().toArray();
    check(got.length == 3, "record 1 has " + got.length + " headers");
    for (int h = 0; h < 3; h++) {
      check(got[h].key().equals(headers.get(h).key()), "header " + h + " is named " + got[h].key());
      checkBytes("header " + h + " (" + got[h].key() + ")", headers.get(h).value(), got[h].value());
    }
    for (int i = 1; i < 4; i++) check(consumed.get(i).headers().toArray().length == 0, "record " + (i + 1) + " has headers");
    return "4 records: headers h1,h1,h2 in order, null key, tombstone, empty key/value kept apart from null";
  }

  private String timestampsCreateTime() throws Exception {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 3; i++) records.add(new ProducerRecord<>(topic, 0, BASE_TIMESTAMP + i, utf8("key-" + i), utf8("value-" + i)));
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
      sendAll(producer, records);
    }
    List<ConsumerRecord<byte[], byte[]>> consumed = consume(3);
    for (int i = 0; i < 3; i++) {
      ConsumerRecord<byte[], byte[]> record = consumed.get(i);
      check(record.timestamp() == BASE_TIMESTAMP + i, "record " + i + " timestamp " + record.timestamp());
      check(record.timestampType() == TimestampType.CREATE_TIME, "record " + i + " timestamp type " + record.timestampType());
    }
    return "timestamps 1600000000000..2 kept, type CreateTime";
  }

  private String timestampsLogAppendTime() throws Exception {
    long start = System.currentTimeMillis();
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 3; i++) records.add(new ProducerRecord<>(topic, 0, BASE_TIMESTAMP, utf8("key-" + i), utf8("value-" + i)));
    List<RecordMetadata> acknowledged;
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
      acknowledged = sendAll(producer, records);
    }
    List<ConsumerRecord<byte[], byte[]>> consumed = consume(3);
    long end = System.currentTimeMillis();
    for (int i = 0; i < 3; i++) {
      ConsumerRecord<byte[], byte[]> record = consumed.get(i);
      check(record.timestampType() == TimestampType.LOG_APPEND_TIME, "record " + i + " timestamp type " + record.timestampType());
      check(record.timestamp() >= start - 1000 && record.timestamp() <= end + 1000,
          "record " + i + " timestamp " + record.timestamp() + " outside [" + (start - 1000) + ", " + (end + 1000) + "]");
      // The produce response carries log_append_time_ms; the producer reports it instead of the create time.
      check(acknowledged.get(i).timestamp() == record.timestamp(),
          "producer was acknowledged with timestamp " + acknowledged.get(i).timestamp() + ", consumer sees " + record.timestamp());
    }
    return "type LogAppendTime, broker time " + consumed.get(0).timestamp() + " (also in the produce acknowledgement)";
  }

  private String largeRecord() throws Exception {
    byte[] value = new byte[1_048_576];
    new Random(42).nextBytes(value);
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(
        ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 2 * 1_048_576,
        ProducerConfig.COMPRESSION_TYPE_CONFIG, "none"))) {
      sendAll(producer, List.of(new ProducerRecord<>(topic, 0, utf8("large"), value)));
    }
    // Consumer limits stay at their defaults (1 MiB per partition): the broker must send the larger batch whole.
    List<ConsumerRecord<byte[], byte[]>> consumed = consume(1);
    checkBytes("value", value, consumed.get(0).value());
    return "1,048,576-byte value (max.request.size=2 MiB), consumed whole with default fetch sizes";
  }

  private String idempotentProducer() throws Exception {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 100; i++) records.add(new ProducerRecord<>(topic, 0, utf8("key-" + i), utf8("idempotent-" + i)));
    // Idempotence is the default since kafka-clients 3.0; said explicitly so a silent downgrade fails instead.
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
        ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5,
        ProducerConfig.BATCH_SIZE_CONFIG, 512))) {
      sendAll(producer, records);
    }
    List<ConsumerRecord<byte[], byte[]>> consumed = consume(100);
    checkOffsets(consumed, 0);
    for (int i = 0; i < 100; i++) checkBytes("value of record " + i, records.get(i).value(), consumed.get(i).value());
    return "100 records with enable.idempotence=true (the default), small batches, 5 in flight: each once, in order";
  }

  private String transactionsReadCommitted() throws Exception {
    // The same records as compat-tests/lib/scenarios.ts `transactions`: commit 3, abort 2, commit 2.
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of(ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic + "-tx"))) {
      producer.initTransactions();
      producer.beginTransaction();
      for (int i = 0; i < 3; i++) producer.send(new ProducerRecord<>(topic, 0, null, utf8("txn-committed-" + i)));
      producer.commitTransaction();
      producer.beginTransaction();
      for (int i = 0; i < 2; i++) producer.send(new ProducerRecord<>(topic, 0, null, utf8("txn-aborted-" + i)));
      producer.flush();
      producer.abortTransaction();
      producer.beginTransaction();
      for (int i = 3; i < 5; i++) producer.send(new ProducerRecord<>(topic, 0, null, utf8("txn-committed-" + i)));
      producer.commitTransaction();
    }
    List<ConsumerRecord<byte[], byte[]>> committed = consume(0, 0, 5, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"));
    for (int i = 0; i < 5; i++) checkBytes("read_committed value " + i, utf8("txn-committed-" + i), committed.get(i).value());
    // Offsets: 3 committed, marker, 2 aborted, marker, 2 committed, marker.
    long[] offsets = committed.stream().mapToLong(ConsumerRecord::offset).toArray();
    if (!java.util.Arrays.equals(offsets, new long[] {0, 1, 2, 7, 8})) throw new AssertionError("read_committed offsets " + java.util.Arrays.toString(offsets) + ", expected [0, 1, 2, 7, 8]");
    List<ConsumerRecord<byte[], byte[]>> all = consume(0, 0, 7, Map.of(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_uncommitted"));
    checkBytes("read_uncommitted value 3", utf8("txn-aborted-0"), all.get(3).value());
    return "commit 3, abort 2, commit 2: read_committed reads the 5 committed at offsets 0-2, 7-8; read_uncommitted all 7";
  }

  /** One group member polling on its own thread (a KafkaConsumer is single-threaded). */
  private final class Member implements Runnable {
    final String name;
    final KafkaConsumer<byte[], byte[]> consumer;
    final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    volatile Set<TopicPartition> assignment = Set.of();
    volatile boolean stopping;
    volatile Throwable failure;
    final Thread thread;

    Member(String name, String protocol) {
      this.name = name;
      Properties props = consumerProps(bootstrap, group);
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, "zombi-compat-java-" + name);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
      // With the consumer protocol (KIP-848) the broker sets the session and the heartbeat interval.
      if (protocol.equals("classic")) {
        props.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        props.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
      }
      this.consumer = new KafkaConsumer<>(props);
      this.thread = new Thread(this, "member-" + name);
    }

    @Override
    public void run() {
      try {
        consumer.subscribe(List.of(topic));
        while (!stopping) {
          var batch = consumer.poll(Duration.ofMillis(100));
          synchronized (records) {
            for (ConsumerRecord<byte[], byte[]> record : batch) records.add(record);
          }
          if (!batch.isEmpty()) consumer.commitSync();
          assignment = Set.copyOf(consumer.assignment());
        }
      } catch (Throwable error) {
        failure = error;
      } finally {
        consumer.close(Duration.ofSeconds(10));
      }
    }

    int count() {
      synchronized (records) {
        return records.size();
      }
    }

    void stop() throws Exception {
      stopping = true;
      thread.join(30_000);
      if (failure != null) throw new AssertionError("member " + name + " failed: " + Main.describe(failure), failure);
    }
  }

  private static void waitFor(String what, java.util.function.BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError("timed out after " + WAIT.toSeconds() + " s waiting for " + what);
      Thread.sleep(50);
    }
  }

  /** group-commit-resume with the classic protocol, kip848-group with group.protocol=consumer (server-side assignment). */
  private String groupCommitResume(String protocol) throws Exception {
    if (group == null) throw new IllegalStateException("COMPAT_GROUP is not set");
    Member first = new Member("a", protocol);
    Member second = new Member("b", protocol);
    first.thread.start();
    waitFor("member a's first assignment", () -> first.assignment.size() == 4 || first.failure != null);
    second.thread.start();
    waitFor("both members to own partitions", () ->
        (!first.assignment.isEmpty() && !second.assignment.isEmpty() && first.assignment.size() + second.assignment.size() == 4)
            || first.failure != null || second.failure != null);
    Set<TopicPartition> overlap = new HashSet<>(first.assignment);
    overlap.retainAll(second.assignment);
    check(overlap.isEmpty(), "partitions owned by both members: " + overlap);
    String split = first.assignment.size() + "+" + second.assignment.size();

    List<ProducerRecord<byte[], byte[]>> round1 = new ArrayList<>();
    for (int p = 0; p < 4; p++) for (int i = 0; i < 10; i++) round1.add(new ProducerRecord<>(topic, p, null, utf8("first-" + p + "-" + i)));
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
      sendAll(producer, round1);
    }
    waitFor("40 records consumed by the two members", () -> first.count() + second.count() >= 40 || first.failure != null || second.failure != null);
    first.stop();
    second.stop();
    Set<String> seen = new HashSet<>();
    for (Member member : List.of(first, second)) for (var record : member.records) seen.add(new String(record.value(), StandardCharsets.UTF_8));
    check(seen.size() == 40 && first.count() + second.count() == 40, "members consumed " + (first.count() + second.count()) + " records, " + seen.size() + " distinct");
    check(first.count() > 0 && second.count() > 0, "one member consumed nothing: " + first.count() + "+" + second.count());

    Map<TopicPartition, OffsetAndMetadata> committed;
    try (Admin admin = admin()) {
      committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    }
    for (int p = 0; p < 4; p++) {
      OffsetAndMetadata offset = committed.get(new TopicPartition(topic, p));
      check(offset != null && offset.offset() == 10, "committed offset of partition " + p + ": " + offset);
    }

    List<ProducerRecord<byte[], byte[]>> round2 = new ArrayList<>();
    for (int n = 0; n < 20; n++) round2.add(new ProducerRecord<>(topic, n % 4, null, utf8("second-" + n)));
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
      sendAll(producer, round2);
    }
    Member third = new Member("c", protocol);
    third.thread.start();
    waitFor("the new member to read 20 records", () -> third.count() >= 20 || third.failure != null);
    // Anything from before the commits would have come first; a short extra wait catches strays after.
    Thread.sleep(500);
    third.stop();
    Map<String, Integer> resumed = new HashMap<>();
    for (var record : third.records) resumed.merge(new String(record.value(), StandardCharsets.UTF_8), 1, Integer::sum);
    Set<String> expected = new HashSet<>();
    for (var record : round2) expected.add(new String(record.value(), StandardCharsets.UTF_8));
    check(third.records.size() == 20 && resumed.keySet().equals(expected),
        "new member read " + third.records.size() + " records: " + resumed.keySet().stream().sorted().limit(8).toList() + "...");
    return (protocol.equals("consumer") ? "group.protocol=consumer: " : "") + "2 members (" + split + " partitions) consumed 40 and committed 10 per partition; a new member resumed with exactly the 20 new records";
  }

  private String consumeFromTimestamp() throws Exception {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 10; i++) records.add(new ProducerRecord<>(topic, 0, BASE_TIMESTAMP + 1000L * i, utf8("key-" + i), utf8("value-" + i)));
    try (KafkaProducer<byte[], byte[]> producer = producer(Map.of())) {
      sendAll(producer, records);
    }
    TopicPartition tp = new TopicPartition(topic, 0);
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      consumer.assign(List.of(tp));
      Map<TopicPartition, OffsetAndTimestamp> found = consumer.offsetsForTimes(Map.of(tp, BASE_TIMESTAMP + 4500), WAIT);
      OffsetAndTimestamp at = found.get(tp);
      check(at != null && at.offset() == 5, "offsetsForTimes(" + (BASE_TIMESTAMP + 4500) + ") = " + at);
      check(at.timestamp() == BASE_TIMESTAMP + 5000, "offsetsForTimes found timestamp " + at.timestamp());
      consumer.seek(tp, at.offset());
      List<ConsumerRecord<byte[], byte[]>> consumed = pollUntil(consumer, 5);
      checkOffsets(consumed, 5);
      for (int i = 0; i < 5; i++) checkBytes("value at offset " + (5 + i), records.get(5 + i).value(), consumed.get(i).value());
      OffsetAndTimestamp none = consumer.offsetsForTimes(Map.of(tp, BASE_TIMESTAMP + 100_000), WAIT).get(tp);
      check(none == null, "offsetsForTimes after the last record = " + none + ", expected none");
    }
    return "offsetsForTimes(+4500 ms) = offset 5 (timestamp +5000), read 5..9; a time past the end finds nothing";
  }
}
