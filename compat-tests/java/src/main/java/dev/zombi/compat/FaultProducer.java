// Tool mode for test/compat/faults.test.ts: an idempotent producer that keeps retrying through a
// proxy that cuts its connections, then reports what was acknowledged.
package dev.zombi.compat;

import java.util.Properties;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

final class FaultProducer {
  private FaultProducer() {}

  /** The value of record i; the test compares the log against exactly these, in this order. */
  static String value(int i) {
    return String.format("fault-%06d", i);
  }

  /** Args: bootstrap topic count [batch.size]. Prints one JSON line; exits non-zero if any send failed. */
  static void run(String[] args) throws Exception {
    String bootstrap = args[0];
    String topic = args[1];
    int count = Integer.parseInt(args[2]);
    int batchSize = args.length > 3 ? Integer.parseInt(args[3]) : 4096;

    Properties props = Scenarios.producerProps(bootstrap);
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.RETRIES_CONFIG, Integer.MAX_VALUE);
    props.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5);
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 300_000);
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 2);
    props.put(ProducerConfig.BATCH_SIZE_CONFIG, batchSize);
    // Reconnect quickly: the proxy cuts connections on purpose and the test has a time budget.
    props.put(ProducerConfig.RECONNECT_BACKOFF_MS_CONFIG, 20);
    props.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, 500);
    props.put(ProducerConfig.RETRY_BACKOFF_MS_CONFIG, 20);

    AtomicInteger acknowledged = new AtomicInteger();
    AtomicInteger failed = new AtomicInteger();
    AtomicReference<String> firstError = new AtomicReference<>();
    long started = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props)) {
      for (int i = 0; i < count; i++) {
        producer.send(new ProducerRecord<>(topic, 0, null, Scenarios.utf8(value(i))), (metadata, error) -> {
          if (error == null) {
            acknowledged.incrementAndGet();
          } else {
            failed.incrementAndGet();
            firstError.compareAndSet(null, Main.describe(error));
          }
        });
      }
      producer.flush();
    }
    long elapsedMs = (System.nanoTime() - started) / 1_000_000;
    System.out.println("{\"acknowledged\":" + acknowledged.get() + ",\"failed\":" + failed.get()
        + ",\"firstError\":" + Json.string(firstError.get()) + ",\"elapsedMs\":" + elapsedMs + "}");
    System.out.flush();
    if (failed.get() > 0 || acknowledged.get() != count) System.exit(1);
  }
}
