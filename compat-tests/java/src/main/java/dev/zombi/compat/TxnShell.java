// Tool mode for test/e2e/transactions.test.ts: one JVM reads commands from stdin, one per line, and
// answers each with one JSON line, so a test drives transactional producers, consumers and the admin
// client step by step (a broker killed and restarted between two steps included) without a JVM per step.
//
// Commands (words separated by spaces; values contain none):
//   bootstrap <host:port>                         clients made from now on connect there
//   producer <name> <transactional.id> <timeout ms> [max block ms]  a transactional producer, initTransactions() done
//   begin <name> | commit <name> | abort <name>
//   send <name> <topic> <partition> <value prefix> <count> [pad]   count records (values padded with '.'), then flush()
//   drop <name>                                   closes the producer without waiting
//   read <read_committed|read_uncommitted> <topic> <partition>   every record up to the end offset (values up to a '.')
//   end <read_committed|read_uncommitted> <topic> <partition>    the end offset at that isolation
//   transform <name> <group> <in topic> <out topic> <count>      consume-transform-produce of count records, offsets in the transaction
//   committed <group> <topic> <partition>         the group's committed offset (-1: none)
//   describe <transactional.id> | list | producers <topic> <partition>   the admin client's view
package dev.zombi.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ProducerState;
import org.apache.kafka.clients.admin.TransactionDescription;
import org.apache.kafka.clients.admin.TransactionListing;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

final class TxnShell {
  private TxnShell() {}

  private static final Duration WAIT = Duration.ofSeconds(60);
  private static String bootstrap = "";
  private static final Map<String, KafkaProducer<byte[], byte[]>> producers = new HashMap<>();

  static void run() throws Exception {
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (line.isBlank()) continue;
      String[] w = line.trim().split(" ");
      String answer;
      try {
        answer = "{\"ok\":true" + step(w) + "}";
      } catch (Throwable error) {
        answer = "{\"ok\":false,\"error\":" + Json.string(Main.describe(error)) + "}";
      }
      System.out.println(answer);
      System.out.flush();
    }
  }

  /** Runs one command; returns more JSON fields of the answer (each starting with a comma), or "". */
  private static String step(String[] w) throws Exception {
    switch (w[0]) {
      case "bootstrap" -> bootstrap = w[1];
      case "producer" -> {
        Properties props = Scenarios.producerProps(bootstrap);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, w[2]);
        props.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, Integer.parseInt(w[3]));
        // An optional fifth word bounds how long a call may block (a broker killed under it).
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, w.length > 4 ? Integer.parseInt(w[4]) : 30_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 30_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(props);
        producers.put(w[1], producer);
        producer.initTransactions();
      }
      case "begin" -> producers.get(w[1]).beginTransaction();
      case "commit" -> producers.get(w[1]).commitTransaction();
      case "abort" -> producers.get(w[1]).abortTransaction();
      case "send" -> {
        KafkaProducer<byte[], byte[]> producer = producers.get(w[1]);
        int count = Integer.parseInt(w[5]);
        List<java.util.concurrent.Future<?>> sent = new ArrayList<>();
        // An optional sixth word pads each value with '.' to that many bytes (to fill hot-log segments).
        int pad = w.length > 6 ? Integer.parseInt(w[6]) : 0;
        for (int i = 0; i < count; i++) {
          StringBuilder value = new StringBuilder(w[4]).append(i);
          while (value.length() < pad) value.append('.');
          sent.add(producer.send(new ProducerRecord<>(w[2], Integer.parseInt(w[3]), null, value.toString().getBytes(StandardCharsets.UTF_8))));
        }
        producer.flush();
        for (java.util.concurrent.Future<?> f : sent) f.get();
      }
      case "drop" -> {
        KafkaProducer<byte[], byte[]> producer = producers.remove(w[1]);
        if (producer != null) producer.close(Duration.ZERO);
      }
      case "read" -> {
        return ",\"records\":" + read(w[1], new TopicPartition(w[2], Integer.parseInt(w[3])));
      }
      case "end" -> {
        try (KafkaConsumer<byte[], byte[]> consumer = consumer(w[1], null)) {
          TopicPartition tp = new TopicPartition(w[2], Integer.parseInt(w[3]));
          return ",\"offset\":" + consumer.endOffsets(List.of(tp)).get(tp);
        }
      }
      case "transform" -> transform(producers.get(w[1]), w[2], w[3], w[4], Integer.parseInt(w[5]));
      case "committed" -> {
        try (Admin admin = admin()) {
          TopicPartition tp = new TopicPartition(w[2], Integer.parseInt(w[3]));
          OffsetAndMetadata committed = admin.listConsumerGroupOffsets(w[1]).partitionsToOffsetAndMetadata().get(60, TimeUnit.SECONDS).get(tp);
          return ",\"offset\":" + (committed == null ? -1 : committed.offset());
        }
      }
      case "describe" -> {
        try (Admin admin = admin()) {
          TransactionDescription d = admin.describeTransactions(List.of(w[1])).description(w[1]).get(60, TimeUnit.SECONDS);
          return ",\"state\":" + Json.string(d.state().toString()) + ",\"producerId\":" + d.producerId() + ",\"epoch\":" + d.producerEpoch()
              + ",\"timeoutMs\":" + d.transactionTimeoutMs() + ",\"partitions\":" + d.topicPartitions().size();
        }
      }
      case "list" -> {
        try (Admin admin = admin()) {
          StringBuilder out = new StringBuilder(",\"transactions\":[");
          boolean first = true;
          for (TransactionListing listing : admin.listTransactions().all().get(60, TimeUnit.SECONDS)) {
            if (!first) out.append(',');
            first = false;
            out.append("{\"id\":").append(Json.string(listing.transactionalId())).append(",\"state\":").append(Json.string(listing.state().toString())).append('}');
          }
          return out.append(']').toString();
        }
      }
      case "producers" -> {
        try (Admin admin = admin()) {
          TopicPartition tp = new TopicPartition(w[1], Integer.parseInt(w[2]));
          StringBuilder out = new StringBuilder(",\"producers\":[");
          boolean first = true;
          for (ProducerState state : admin.describeProducers(List.of(tp)).partitionResult(tp).get(60, TimeUnit.SECONDS).activeProducers()) {
            if (!first) out.append(',');
            first = false;
            out.append("{\"producerId\":").append(state.producerId()).append(",\"epoch\":").append(state.producerEpoch())
                .append(",\"txnStartOffset\":").append(state.currentTransactionStartOffset().orElse(-1L)).append('}');
          }
          return out.append(']').toString();
        }
      }
      default -> throw new IllegalArgumentException("unknown command " + w[0]);
    }
    return "";
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String isolation, String group) {
    Properties props = Scenarios.consumerProps(bootstrap, group);
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation);
    return new KafkaConsumer<>(props);
  }

  private static Admin admin() {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    return Admin.create(props);
  }

  /** Every record from the beginning up to the end offset at this isolation, as [offset, value] pairs. */
  private static String read(String isolation, TopicPartition tp) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer(isolation, null)) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      StringBuilder out = new StringBuilder("[");
      boolean first = true;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (consumer.position(tp) < end) {
        if (System.nanoTime() > deadline) throw new AssertionError("position " + consumer.position(tp) + " did not reach the end offset " + end);
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
          if (!first) out.append(',');
          first = false;
          String value = new String(record.value(), StandardCharsets.UTF_8);
          // Padding is not shown: the value up to its first '.'.
          int dot = value.indexOf('.');
          out.append('[').append(record.offset()).append(',').append(Json.string(dot < 0 ? value : value.substring(0, dot))).append(']');
        }
      }
      return out.append(']').toString();
    }
  }

  /** Reads count records of the group (read_committed), writes each upper-cased to `out` and commits them with the group's offsets in one transaction. */
  private static void transform(KafkaProducer<byte[], byte[]> producer, String group, String in, String out, int count) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer("read_committed", group)) {
      consumer.subscribe(List.of(in));
      int done = 0;
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (done < count) {
        if (System.nanoTime() > deadline) throw new AssertionError("transformed " + done + " of " + count + " records");
        var records = consumer.poll(Duration.ofMillis(200));
        if (records.isEmpty()) continue;
        producer.beginTransaction();
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (ConsumerRecord<byte[], byte[]> record : records) {
          producer.send(new ProducerRecord<>(out, record.partition(), null, new String(record.value(), StandardCharsets.UTF_8).toUpperCase().getBytes(StandardCharsets.UTF_8)));
          offsets.put(new TopicPartition(record.topic(), record.partition()), new OffsetAndMetadata(record.offset() + 1));
          done++;
        }
        producer.sendOffsetsToTransaction(offsets, consumer.groupMetadata());
        producer.commitTransaction();
      }
    }
  }
}
