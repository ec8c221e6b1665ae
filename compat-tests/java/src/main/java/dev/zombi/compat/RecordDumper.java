// Tool mode for test/e2e/cold-kafka-reads.test.ts: the Java consumer reads one partition from a
// position (an offset, or "earliest": seekToBeginning) and prints every record it got as a JSON
// line, bytes in base64, so the test compares them byte for byte with what was produced.
package dev.zombi.compat;

import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;

final class RecordDumper {
  private RecordDumper() {}

  private static final Duration WAIT = Duration.ofSeconds(60);

  /** Args: bootstrap topic partition earliest|offset count. Prints a watermarks line, then one line per record. */
  static void run(String[] args) {
    String bootstrap = args[0];
    TopicPartition partition = new TopicPartition(args[1], Integer.parseInt(args[2]));
    String from = args[3];
    int count = Integer.parseInt(args[4]);
    Properties props = Scenarios.consumerProps(bootstrap, null);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(props)) {
      consumer.assign(List.of(partition));
      if (from.equals("earliest")) consumer.seekToBeginning(List.of(partition));
      else consumer.seek(partition, Long.parseLong(from));
      Map<TopicPartition, Long> low = consumer.beginningOffsets(List.of(partition));
      Map<TopicPartition, Long> high = consumer.endOffsets(List.of(partition));
      System.out.println("{\"type\":\"watermarks\",\"low\":" + low.get(partition) + ",\"high\":" + high.get(partition) + "}");
      int seen = 0;
      long deadline = System.nanoTime() + WAIT.toNanos();
      StringBuilder out = new StringBuilder();
      while (seen < count) {
        if (System.nanoTime() > deadline) throw new AssertionError("consumed " + seen + " of " + count + " records within " + WAIT.toSeconds() + " s");
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          out.setLength(0);
          out.append("{\"type\":\"record\",\"partition\":").append(record.partition())
              .append(",\"offset\":").append(record.offset())
              .append(",\"timestamp\":").append(record.timestamp())
              .append(",\"timestamp_type\":").append(Json.string(record.timestampType().name))
              .append(",\"key\":").append(base64(record.key()))
              .append(",\"value\":").append(base64(record.value()))
              .append(",\"headers\":[");
          Header[] headers = record.headers().toArray();
          for (int h = 0; h < headers.length; h++) {
            if (h > 0) out.append(',');
            out.append('[').append(Json.string(headers[h].key())).append(',').append(base64(headers[h].value())).append(']');
          }
          System.out.println(out.append("]}"));
          seen++;
        }
      }
    }
    System.out.flush();
  }

  private static String base64(byte[] bytes) {
    return bytes == null ? "null" : Json.string(Base64.getEncoder().encodeToString(bytes));
  }
}
