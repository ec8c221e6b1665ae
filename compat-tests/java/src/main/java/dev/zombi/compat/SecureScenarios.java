// The secured harness scenarios (sasl-scram-tls, acl-denied): the Java clients over the broker's SASL_SSL
// listener with SCRAM, as the user the harness names in COMPAT_SASL_USERNAME.
package dev.zombi.compat;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.SslConfigs;
import org.apache.kafka.common.errors.AuthorizationException;

final class SecureScenarios {
  static final int SECURE_COUNT = 5;
  static final int ACL_READABLE_COUNT = 3;

  private final String topic;
  private final String secureBootstrap;
  private final String mechanism;
  private final Properties security = new Properties();

  SecureScenarios(String topic) {
    this.topic = topic;
    this.secureBootstrap = env("COMPAT_SECURE_BOOTSTRAP");
    this.mechanism = env("COMPAT_SASL_MECHANISM");
    security.put(CommonClientConfigs.SECURITY_PROTOCOL_CONFIG, "SASL_SSL");
    security.put(SslConfigs.SSL_TRUSTSTORE_TYPE_CONFIG, "PEM");
    security.put(SslConfigs.SSL_TRUSTSTORE_LOCATION_CONFIG, env("COMPAT_CA_FILE"));
    security.put(SaslConfigs.SASL_MECHANISM, mechanism);
    security.put(SaslConfigs.SASL_JAAS_CONFIG, "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + env("COMPAT_SASL_USERNAME") + "\" password=\"" + env("COMPAT_SASL_PASSWORD") + "\";");
  }

  private static String env(String name) {
    String value = System.getenv(name);
    if (value == null || value.isEmpty()) throw new IllegalStateException(name + " is not set");
    return value;
  }

  private KafkaProducer<byte[], byte[]> producer() {
    Properties props = Scenarios.producerProps(secureBootstrap);
    props.putAll(security);
    props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
    props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, "15000");
    props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
    return new KafkaProducer<>(props);
  }

  private KafkaConsumer<byte[], byte[]> consumer() {
    Properties props = Scenarios.consumerProps(secureBootstrap, null);
    props.putAll(security);
    return new KafkaConsumer<>(props);
  }

  /** Partition 0 from the beginning, group-less (assign), until `count` records. */
  private List<ConsumerRecord<byte[], byte[]>> readAll(int count) {
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      TopicPartition tp = new TopicPartition(topic, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      return Scenarios.pollUntil(consumer, count);
    }
  }

  String saslScramTls() throws Exception {
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      List<java.util.concurrent.Future<RecordMetadata>> sent = new ArrayList<>();
      for (int i = 0; i < SECURE_COUNT; i++) {
        sent.add(producer.send(new ProducerRecord<>(topic, 0, Scenarios.utf8("secure-key-" + i), Scenarios.utf8("secure value " + i + " over SASL_SSL with SCRAM"))));
      }
      producer.flush();
      for (java.util.concurrent.Future<RecordMetadata> future : sent) future.get(30, TimeUnit.SECONDS);
    }
    List<ConsumerRecord<byte[], byte[]>> records = readAll(SECURE_COUNT);
    for (int i = 0; i < SECURE_COUNT; i++) {
      Scenarios.checkBytes("key " + i, Scenarios.utf8("secure-key-" + i), records.get(i).key());
      Scenarios.checkBytes("value " + i, Scenarios.utf8("secure value " + i + " over SASL_SSL with SCRAM"), records.get(i).value());
    }
    return mechanism + " over SASL_SSL: " + SECURE_COUNT + " records";
  }

  String aclDenied() throws Exception {
    Throwable refused = null;
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      producer.send(new ProducerRecord<>(topic, 0, null, Scenarios.utf8("this write must be refused"))).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException error) {
      refused = error.getCause();
    } catch (AuthorizationException error) {
      refused = error;
    } catch (KafkaException error) {
      // The idempotent producer's InitProducerId may fail (CLUSTER_AUTHORIZATION_FAILED, fatal) before
      // send() runs: kafka-clients 3.x then throws from send() itself, the authorization error as the cause.
      refused = error.getCause() instanceof AuthorizationException ? error.getCause() : error;
    }
    Scenarios.check(refused != null, "the produce succeeded without WRITE on the topic");
    Scenarios.check(refused instanceof AuthorizationException, "the produce failed, but not with an authorization error: " + Main.describe(refused));
    List<ConsumerRecord<byte[], byte[]>> records = readAll(ACL_READABLE_COUNT);
    for (int i = 0; i < ACL_READABLE_COUNT; i++) {
      Scenarios.checkBytes("key " + i, Scenarios.utf8("readable-key-" + i), records.get(i).key());
      Scenarios.checkBytes("value " + i, Scenarios.utf8("readable value " + i), records.get(i).value());
    }
    Set<String> topics;
    try (KafkaConsumer<byte[], byte[]> consumer = consumer()) {
      topics = consumer.listTopics().keySet();
    }
    String hidden = env("COMPAT_HIDDEN_TOPIC");
    Scenarios.check(topics.contains(topic), "listTopics lacks the readable topic " + topic + ": " + topics);
    Scenarios.check(!topics.contains(hidden), "listTopics lists " + hidden + ", which the user may not describe");
    return "produce refused with " + refused.getClass().getSimpleName() + "; read " + ACL_READABLE_COUNT
        + " records; listTopics: " + topics.size() + " topic(s), not the hidden one";
  }
}
