// Tool mode for compat-tests/java/make-fixtures.ts: one batch per codec, made by the real producer,
// which the fixture script then reads back from the broker as stored bytes.
package dev.zombi.compat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;

final class FixtureProducer {
  private FixtureProducer() {}

  static final List<String> CODECS = List.of("none", "gzip", "snappy", "lz4", "zstd");

  /**
   * The records, as test/protocol/java-batches.test.ts expects them: record i has key "key-i"
   * (null for i = 3), a ~300-byte value (null for i = 4), timestamp 1600000000000 + i, and record 0
   * the headers trace=abc and empty=null.
   */
  static List<ProducerRecord<byte[], byte[]>> records(String topic) {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      byte[] key = i == 3 ? null : Scenarios.utf8("key-" + i);
      byte[] value = i == 4 ? null : Scenarios.utf8("fixture record " + i + " " + "abcdefghij".repeat(30));
      List<Header> headers = i == 0 ? List.of(new RecordHeader("trace", Scenarios.utf8("abc")), new RecordHeader("empty", null)) : List.of();
      records.add(new ProducerRecord<>(topic, 0, Scenarios.BASE_TIMESTAMP + i, key, value, headers));
    }
    return records;
  }

  /**
   * A batch larger than the codecs' block sizes (xerial snappy 32 KiB, Kafka's LZ4 frames 64 KiB):
   * 80 records whose value i is the harness's 1 KiB codec value i, key "key-i", timestamp base + i.
   */
  static List<ProducerRecord<byte[], byte[]>> largeRecords(String topic) {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < 80; i++) {
      records.add(new ProducerRecord<>(topic, 0, Scenarios.BASE_TIMESTAMP + i, Scenarios.utf8("key-" + i), Scenarios.codecValue(i)));
    }
    return records;
  }

  /**
   * Args: bootstrap topic-prefix. Produces records() to <prefix>-<codec> for each codec, and
   * largeRecords() to <prefix>-<codec>-large for each compressing codec, one producer per topic.
   */
  static void run(String[] args) throws Exception {
    String bootstrap = args[0];
    String prefix = args[1];
    for (String codec : CODECS) {
      produce(bootstrap, codec, records(prefix + "-" + codec));
      if (!codec.equals("none")) produce(bootstrap, codec, largeRecords(prefix + "-" + codec + "-large"));
    }
    System.out.println("{\"codecs\":" + CODECS.size() + "}");
  }

  private static void produce(String bootstrap, String codec, List<ProducerRecord<byte[], byte[]>> records) throws Exception {
    Properties props = Scenarios.producerProps(bootstrap);
    props.putAll(Map.of(ProducerConfig.COMPRESSION_TYPE_CONFIG, codec, ProducerConfig.LINGER_MS_CONFIG, 1000, ProducerConfig.BATCH_SIZE_CONFIG, 256 * 1024));
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      List<Future<RecordMetadata>> sent = new ArrayList<>();
      for (ProducerRecord<byte[], byte[]> record : records) sent.add(producer.send(record));
      producer.flush();
      for (Future<RecordMetadata> future : sent) future.get();
    }
  }
}
