// Tool mode `group-members <bootstrap> <topic> <group> <count> <protocol>`: runs <count> consumers of one
// group (group.protocol=<protocol>: consumer for KIP-848, classic for the old one), each in its own thread,
// and reports on stdout, one JSON object a line, every record consumed and every assignment change; each
// batch is committed synchronously before the next poll, so a partition that moves is picked up past what
// its previous owner consumed. Commands on stdin: `close <i>` closes consumer i (it leaves the group),
// `exit` closes them all and ends the program. Killing the process leaves the group without a goodbye.
package dev.zombi.compat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Properties;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

final class GroupMembers {
  private GroupMembers() {}

  private static synchronized void emit(String json) {
    System.out.println(json);
    System.out.flush();
  }

  static void run(String[] args) throws Exception {
    if (args.length != 5) throw new IllegalArgumentException("group-members <bootstrap> <topic> <group> <count> <consumer|classic>");
    String bootstrap = args[0];
    String topic = args[1];
    String group = args[2];
    int count = Integer.parseInt(args[3]);
    String protocol = args[4];
    List<Member> members = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      Member member = new Member(i, bootstrap, topic, group, protocol);
      members.add(member);
      member.thread.start();
    }
    emit("{\"event\":\"started\",\"count\":" + count + "}");
    BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = input.readLine()) != null) {
      String[] words = line.trim().split("\\s+");
      if (words[0].equals("close")) members.get(Integer.parseInt(words[1])).close();
      else if (words[0].equals("exit")) break;
    }
    for (Member member : members) member.close();
    emit("{\"event\":\"exit\"}");
  }

  private static final class Member implements ConsumerRebalanceListener {
    final int index;
    final KafkaConsumer<byte[], byte[]> consumer;
    final Thread thread;
    final AtomicBoolean running = new AtomicBoolean(true);
    private final String topic;

    Member(int index, String bootstrap, String topic, String group, String protocol) {
      this.index = index;
      this.topic = topic;
      Properties props = new Properties();
      props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      props.put(ConsumerConfig.GROUP_ID_CONFIG, group);
      props.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
      props.put(ConsumerConfig.CLIENT_ID_CONFIG, "member-" + index);
      props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
      props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
      props.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
      props.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class.getName());
      consumer = new KafkaConsumer<>(props);
      thread = new Thread(this::loop, "member-" + index);
    }

    private void loop() {
      try {
        consumer.subscribe(List.of(topic), this);
        while (running.get()) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(200));
          if (records.isEmpty()) continue;
          for (ConsumerRecord<byte[], byte[]> record : records) {
            emit("{\"event\":\"record\",\"member\":" + index + ",\"partition\":" + record.partition() + ",\"offset\":" + record.offset() + "}");
          }
          consumer.commitSync();
          emit("{\"event\":\"committed\",\"member\":" + index + ",\"records\":" + records.count() + "}");
        }
      } catch (WakeupException closing) {
        // close() woke the poll up.
      } catch (Throwable error) {
        emit("{\"event\":\"error\",\"member\":" + index + ",\"detail\":" + Json.string(Main.describe(error)) + "}");
      } finally {
        consumer.close(Duration.ofSeconds(10));
        emit("{\"event\":\"closed\",\"member\":" + index + "}");
      }
    }

    void close() throws InterruptedException {
      if (running.getAndSet(false)) consumer.wakeup();
      thread.join();
    }

    /** The assignment once `leaving` is gone (the revocation callback runs before the consumer drops it). */
    private void report(Collection<TopicPartition> leaving) {
      TreeSet<Integer> partitions = new TreeSet<>();
      for (TopicPartition tp : consumer.assignment()) if (!leaving.contains(tp)) partitions.add(tp.partition());
      emit("{\"event\":\"assigned\",\"member\":" + index + ",\"partitions\":" + partitions.toString().replace(" ", "") + "}");
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      report(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      report(List.of());
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      report(partitions);
    }
  }
}
