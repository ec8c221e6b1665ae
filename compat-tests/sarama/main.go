// Driver of the sarama family: runs one harness scenario (compat-tests/README.md) with sarama's
// client, producers, consumers and ClusterAdmin, and prints the result line {"status": ..., "detail": ...}.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"math/rand"
	"os"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/IBM/sarama"
)

const baseTimestamp = int64(1_600_000_000_000)

var wait = 30 * time.Second

type skip string

type env struct {
	bootstrap string
	topic     string
	group     string
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: driver <scenario> | version")
		os.Exit(2)
	}
	if os.Args[1] == "version" {
		fmt.Println(moduleVersion("github.com/IBM/sarama"))
		return
	}
	if os.Getenv("COMPAT_DEBUG") != "" {
		sarama.Logger = log.New(os.Stderr, "[sarama] ", log.LstdFlags|log.Lmicroseconds)
		sarama.DebugLogger = sarama.Logger
	}
	e := env{bootstrap: os.Getenv("COMPAT_BOOTSTRAP"), topic: os.Getenv("COMPAT_TOPIC"), group: os.Getenv("COMPAT_GROUP")}
	status, detail := "pass", ""
	func() {
		defer func() {
			if r := recover(); r != nil {
				if reason, ok := r.(skip); ok {
					status, detail = "skip", string(reason)
					return
				}
				fmt.Fprintf(os.Stderr, "%v\n%s", r, debug.Stack())
				status, detail = "fail", fmt.Sprint(r)
			}
		}()
		if e.bootstrap == "" || e.topic == "" {
			panic("COMPAT_BOOTSTRAP and COMPAT_TOPIC must be set")
		}
		detail = run(e, os.Args[1])
	}()
	line, _ := json.Marshal(map[string]string{"status": status, "detail": detail})
	fmt.Println(string(line))
}

func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	return "unknown"
}

func run(e env, scenario string) string {
	switch scenario {
	case "metadata":
		return metadata(e)
	case "admin-create-describe-delete":
		return adminCreateDescribeDelete(e)
	case "produce-consume-none", "produce-consume-gzip", "produce-consume-snappy", "produce-consume-lz4", "produce-consume-zstd":
		return produceConsume(e, strings.TrimPrefix(scenario, "produce-consume-"))
	case "keys-headers-nulls":
		return keysHeadersNulls(e)
	case "timestamps-create-time":
		return timestampsCreateTime(e)
	case "timestamps-log-append-time":
		return timestampsLogAppendTime(e)
	case "large-record-1mib":
		return largeRecord(e)
	case "idempotent-producer":
		return idempotentProducer(e)
	case "group-commit-resume":
		return groupCommitResume(e)
	case "consume-from-timestamp":
		return consumeFromTimestamp(e)
	case "sasl-scram-tls":
		return saslScramTLS(e)
	case "acl-denied":
		return aclDenied(e)
	case "compacted-topic":
		return compactedTopic(e)
	case "transactions-read-committed":
		return transactionsReadCommitted(e)
	}
	panic("unknown scenario " + scenario)
}

// ---- helpers --------------------------------------------------------------------------------

func check(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf(format, args...))
	}
}

func must(err error, what string) {
	if err != nil {
		panic(fmt.Sprintf("%s: %v", what, err))
	}
}

// config is sarama's configuration for every scenario. sarama picks request versions up to
// Config.Version, clamped to what the broker advertises in ApiVersions; MaxVersion lets the broker's
// ranges decide.
func config() *sarama.Config {
	cfg := sarama.NewConfig()
	cfg.ClientID = "zombi-compat-sarama"
	cfg.Version = sarama.MaxVersion
	cfg.Metadata.AllowAutoTopicCreation = false
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Return.Successes = true
	cfg.Producer.Partitioner = sarama.NewManualPartitioner
	cfg.Consumer.Return.Errors = true
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	cfg.Consumer.Offsets.AutoCommit.Enable = false
	if secured != nil {
		secured(cfg)
	}
	return cfg
}

// produce sends every message with a SyncProducer and waits for all acknowledgements.
func produce(e env, messages []*sarama.ProducerMessage, tune func(*sarama.Config)) {
	cfg := config()
	if tune != nil {
		tune(cfg)
	}
	producer, err := sarama.NewSyncProducer([]string{e.bootstrap}, cfg)
	must(err, "NewSyncProducer")
	defer producer.Close()
	for _, m := range messages {
		if m.Topic == "" {
			m.Topic = e.topic
		}
	}
	if err := producer.SendMessages(messages); err != nil {
		var errs sarama.ProducerErrors
		if errors.As(err, &errs) && len(errs) > 0 {
			panic(fmt.Sprintf("produce: %d messages failed, first: %v", len(errs), errs[0].Err))
		}
		must(err, "produce")
	}
}

// consume reads one partition from `from` with a PartitionConsumer (no group) until `count` records arrived.
func consume(e env, partition int32, from int64, count int) []*sarama.ConsumerMessage {
	consumer, err := sarama.NewConsumer([]string{e.bootstrap}, config())
	must(err, "NewConsumer")
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(e.topic, partition, from)
	must(err, "ConsumePartition")
	defer pc.Close()
	timeout := time.After(wait)
	var messages []*sarama.ConsumerMessage
	for len(messages) < count {
		select {
		case m := <-pc.Messages():
			messages = append(messages, m)
		case err := <-pc.Errors():
			must(err, "consume")
		case <-timeout:
			panic(fmt.Sprintf("consumed %d of %d records within %s", len(messages), count, wait))
		}
	}
	return messages
}

func show(b []byte) string {
	if b == nil {
		return "null"
	}
	if len(b) > 40 {
		return fmt.Sprintf("%d bytes", len(b))
	}
	return fmt.Sprintf("0x%x", b)
}

// checkBytes compares including null-ness: nil and empty are different things on the wire.
func checkBytes(what string, expected, actual []byte) {
	check((expected == nil) == (actual == nil) && bytes.Equal(expected, actual), "%s: expected %s, got %s", what, show(expected), show(actual))
}

func checkOffsets(messages []*sarama.ConsumerMessage, first int64) {
	for i, m := range messages {
		check(m.Offset == first+int64(i), "record %d has offset %d, expected %d", i, m.Offset, first+int64(i))
	}
}

// encoded returns what an Encoder puts on the wire (nil for a null).
func encoded(encoder sarama.Encoder) []byte {
	if encoder == nil {
		return nil
	}
	b, _ := encoder.Encode()
	return b
}

func admin(e env) sarama.ClusterAdmin {
	adm, err := sarama.NewClusterAdmin([]string{e.bootstrap}, config())
	must(err, "NewClusterAdmin")
	return adm
}

// ---- scenarios ------------------------------------------------------------------------------

func metadata(e env) string {
	client, err := sarama.NewClient([]string{e.bootstrap}, config())
	must(err, "NewClient")
	defer client.Close()
	must(client.RefreshMetadata(e.topic), "RefreshMetadata")
	brokers := client.Brokers()
	check(len(brokers) == 1, "metadata lists %d brokers", len(brokers))
	broker := brokers[0]
	check(broker.Addr() == e.bootstrap, "broker advertised as %s, bootstrap is %s", broker.Addr(), e.bootstrap)
	partitions, err := client.Partitions(e.topic)
	must(err, "Partitions")
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	check(len(partitions) == 3 && partitions[0] == 0 && partitions[2] == 2, "partitions %v", partitions)
	for _, p := range partitions {
		leader, err := client.Leader(e.topic, p)
		must(err, fmt.Sprintf("leader of partition %d", p))
		check(leader.ID() == broker.ID() && leader.Addr() == e.bootstrap, "partition %d led by %d at %s", p, leader.ID(), leader.Addr())
	}
	return fmt.Sprintf("1 broker (id %d) at %s, 3 partitions led by it", broker.ID(), broker.Addr())
}

func adminCreateDescribeDelete(e env) string {
	adm := admin(e)
	defer adm.Close()
	retention := "3600000"
	must(adm.CreateTopic(e.topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1, ConfigEntries: map[string]*string{"retention.ms": &retention}}, false), "CreateTopic")
	described, err := adm.DescribeTopics([]string{e.topic})
	must(err, "DescribeTopics")
	check(len(described) == 1, "DescribeTopics returned %d topics", len(described))
	check(described[0].Err == sarama.ErrNoError, "DescribeTopics %s: %v", e.topic, described[0].Err)
	check(len(described[0].Partitions) == 3, "described with %d partitions", len(described[0].Partitions))
	entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: e.topic})
	must(err, "DescribeConfig")
	value, source := "", ""
	for _, entry := range entries {
		if entry.Name == "retention.ms" {
			value, source = entry.Value, entry.Source.String()
		}
	}
	check(value == retention, "retention.ms = %q", value)
	must(adm.DeleteTopic(e.topic), "DeleteTopic")
	deadline := time.Now().Add(wait)
	for {
		topics, err := adm.ListTopics()
		must(err, "ListTopics")
		if _, ok := topics[e.topic]; !ok {
			break
		}
		check(time.Now().Before(deadline), "topic still listed after DeleteTopic")
		time.Sleep(100 * time.Millisecond)
	}
	return "created (3 partitions, retention.ms=3600000, source " + source + "), described, deleted, gone from ListTopics"
}

func codecValue(i int) []byte {
	line := fmt.Sprintf("record %d of the zombi compatibility harness; ", i)
	return []byte(strings.Repeat(line, (1024+len(line)-1)/len(line))[:1024])
}

var codecs = map[string]sarama.CompressionCodec{
	"none": sarama.CompressionNone, "gzip": sarama.CompressionGZIP, "snappy": sarama.CompressionSnappy,
	"lz4": sarama.CompressionLZ4, "zstd": sarama.CompressionZSTD,
}

func produceConsume(e env, codec string) string {
	var messages []*sarama.ProducerMessage
	for i := 0; i < 100; i++ {
		messages = append(messages, &sarama.ProducerMessage{Partition: 0, Key: sarama.StringEncoder(fmt.Sprintf("key-%d", i)), Value: sarama.ByteEncoder(codecValue(i))})
	}
	produce(e, messages, func(cfg *sarama.Config) {
		cfg.Producer.Compression = codecs[codec]
		// Linger: flush after 200 ms or once all 100 are buffered, whichever comes first.
		cfg.Producer.Flush.Frequency = 200 * time.Millisecond
		cfg.Producer.Flush.Messages = 100
	})
	consumed := consume(e, 0, 0, 100)
	checkOffsets(consumed, 0)
	for i, m := range consumed {
		checkBytes(fmt.Sprintf("key of record %d", i), encoded(messages[i].Key), m.Key)
		checkBytes(fmt.Sprintf("value of record %d", i), encoded(messages[i].Value), m.Value)
	}
	return "100 records, " + codec + ", consumed byte-exact at offsets 0-99"
}

func keysHeadersNulls(e env) string {
	messages := []*sarama.ProducerMessage{
		{Partition: 0, Key: sarama.StringEncoder("k1"), Value: sarama.StringEncoder("v1"), Headers: []sarama.RecordHeader{
			{Key: []byte("h1"), Value: []byte("a")}, {Key: []byte("h1"), Value: []byte("b")}, {Key: []byte("h2"), Value: []byte{0x00, 0xff}}}},
		{Partition: 0, Key: nil, Value: sarama.StringEncoder("v2")},
		{Partition: 0, Key: sarama.StringEncoder("k3"), Value: nil},
		{Partition: 0, Key: sarama.ByteEncoder([]byte{}), Value: sarama.ByteEncoder([]byte{})},
	}
	produce(e, messages, nil)
	consumed := consume(e, 0, 0, 4)
	checkOffsets(consumed, 0)
	for i, m := range consumed {
		checkBytes(fmt.Sprintf("key of record %d", i+1), encoded(messages[i].Key), m.Key)
		checkBytes(fmt.Sprintf("value of record %d", i+1), encoded(messages[i].Value), m.Value)
		check(len(m.Headers) == len(messages[i].Headers), "record %d has %d headers", i+1, len(m.Headers))
		for h, header := range m.Headers {
			check(string(header.Key) == string(messages[i].Headers[h].Key), "header %d is named %s", h, header.Key)
			checkBytes(fmt.Sprintf("header %d (%s)", h, header.Key), messages[i].Headers[h].Value, header.Value)
		}
	}
	return "4 records: headers h1,h1,h2 in order, null key, tombstone, empty key/value kept apart from null"
}

func timestampsCreateTime(e env) string {
	var messages []*sarama.ProducerMessage
	for i := 0; i < 3; i++ {
		messages = append(messages, &sarama.ProducerMessage{Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i)), Timestamp: time.UnixMilli(baseTimestamp + int64(i))})
	}
	produce(e, messages, nil)
	for i, m := range consume(e, 0, 0, 3) {
		check(m.Timestamp.UnixMilli() == baseTimestamp+int64(i), "record %d timestamp %d", i, m.Timestamp.UnixMilli())
	}
	return "timestamps 1600000000000..2 kept (sarama does not expose the timestamp type)"
}

func timestampsLogAppendTime(e env) string {
	start := time.Now().UnixMilli()
	var messages []*sarama.ProducerMessage
	for i := 0; i < 3; i++ {
		messages = append(messages, &sarama.ProducerMessage{Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i)), Timestamp: time.UnixMilli(baseTimestamp)})
	}
	produce(e, messages, nil)
	consumed := consume(e, 0, 0, 3)
	end := time.Now().UnixMilli()
	for i, m := range consumed {
		ts := m.Timestamp.UnixMilli()
		check(ts >= start-1000 && ts <= end+1000, "record %d timestamp %d outside [%d, %d]", i, ts, start-1000, end+1000)
		// sarama replaces the produced message's timestamp with the response's log_append_time_ms.
		check(messages[i].Timestamp.UnixMilli() == ts, "producer's message has timestamp %d after the acknowledgement, consumer sees %d", messages[i].Timestamp.UnixMilli(), ts)
	}
	return fmt.Sprintf("broker time %d (also in the produce acknowledgement; sarama does not expose the timestamp type)", consumed[0].Timestamp.UnixMilli())
}

func largeRecord(e env) string {
	value := make([]byte, 1_048_576)
	rand.New(rand.NewSource(42)).Read(value)
	produce(e, []*sarama.ProducerMessage{{Partition: 0, Key: sarama.StringEncoder("large"), Value: sarama.ByteEncoder(value)}}, func(cfg *sarama.Config) {
		cfg.Producer.MaxMessageBytes = 2 * 1_048_576
		cfg.Producer.Compression = sarama.CompressionNone
	})
	// Fetch sizes stay at sarama's defaults (1 MiB): the broker must send the larger batch whole.
	consumed := consume(e, 0, 0, 1)
	checkBytes("value", value, consumed[0].Value)
	return "1,048,576-byte value (Producer.MaxMessageBytes 2 MiB), consumed whole with default fetch sizes"
}

func idempotentProducer(e env) string {
	var messages []*sarama.ProducerMessage
	for i := 0; i < 100; i++ {
		messages = append(messages, &sarama.ProducerMessage{Partition: 0, Key: sarama.StringEncoder(fmt.Sprintf("key-%d", i)), Value: sarama.StringEncoder(fmt.Sprintf("idempotent-%d", i))})
	}
	// Not sarama's default: idempotence must be switched on, and it requires one request in flight.
	produce(e, messages, func(cfg *sarama.Config) {
		cfg.Producer.Idempotent = true
		cfg.Net.MaxOpenRequests = 1
		cfg.Producer.Retry.Max = 5
		cfg.Producer.Flush.Messages = 10
	})
	consumed := consume(e, 0, 0, 100)
	checkOffsets(consumed, 0)
	for i, m := range consumed {
		checkBytes(fmt.Sprintf("value of record %d", i), encoded(messages[i].Value), m.Value)
	}
	return "100 records with Producer.Idempotent (switched on; sarama's default is off), Flush.Messages=10, 1 request in flight: each once, in order"
}

// member is one consumer-group member; its Consume loop runs on its own goroutine.
type member struct {
	name     string
	group    sarama.ConsumerGroup
	mu       sync.Mutex
	values   []string
	assigned []int32
	err      error
	cancel   context.CancelFunc
	done     chan struct{}
}

func (m *member) Setup(session sarama.ConsumerGroupSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.assigned = nil
	for _, partitions := range session.Claims() {
		m.assigned = append(m.assigned, partitions...)
	}
	sort.Slice(m.assigned, func(i, j int) bool { return m.assigned[i] < m.assigned[j] })
	return nil
}

func (m *member) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (m *member) ConsumeClaim(session sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for msg := range claim.Messages() {
		m.mu.Lock()
		m.values = append(m.values, string(msg.Value))
		m.mu.Unlock()
		session.MarkMessage(msg, "")
		// Auto-commit is off: commit synchronously, so a rebalance or close never loses a consumed record.
		session.Commit()
	}
	return nil
}

func startMember(e env, name string) *member {
	cfg := config()
	cfg.ClientID = "zombi-compat-sarama-" + name
	cfg.Consumer.Group.Session.Timeout = 10 * time.Second
	cfg.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond
	group, err := sarama.NewConsumerGroup([]string{e.bootstrap}, e.group, cfg)
	must(err, "NewConsumerGroup")
	ctx, cancel := context.WithCancel(context.Background())
	m := &member{name: name, group: group, cancel: cancel, done: make(chan struct{})}
	go func() {
		for err := range group.Errors() {
			m.fail(err)
		}
	}()
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			if err := group.Consume(ctx, []string{e.topic}, m); err != nil && ctx.Err() == nil {
				m.fail(err)
				return
			}
		}
	}()
	return m
}

func (m *member) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = err
	}
}

func (m *member) snapshot() (count int, partitions []int32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.values), append([]int32(nil), m.assigned...), m.err
}

func (m *member) stop() {
	m.cancel()
	<-m.done
	must(m.group.Close(), "close member "+m.name) // leaves the group
	_, _, err := m.snapshot()
	must(err, "member "+m.name)
}

func waitFor(what string, condition func() bool) {
	deadline := time.Now().Add(wait)
	for !condition() {
		check(time.Now().Before(deadline), "timed out after %s waiting for %s", wait, what)
		time.Sleep(50 * time.Millisecond)
	}
}

func groupCommitResume(e env) string {
	check(e.group != "", "COMPAT_GROUP is not set")
	first := startMember(e, "a")
	waitFor("member a's first assignment", func() bool { _, p, err := first.snapshot(); must(err, "member a"); return len(p) == 4 })
	second := startMember(e, "b")
	var splitA, splitB []int32
	waitFor("both members to own partitions", func() bool {
		_, a, errA := first.snapshot()
		_, b, errB := second.snapshot()
		must(errors.Join(errA, errB), "members")
		splitA, splitB = a, b
		return len(a) > 0 && len(b) > 0 && len(a)+len(b) == 4
	})
	for _, p := range splitA {
		for _, q := range splitB {
			check(p != q, "partition %d owned by both members", p)
		}
	}
	var round1 []*sarama.ProducerMessage
	for p := int32(0); p < 4; p++ {
		for i := 0; i < 10; i++ {
			round1 = append(round1, &sarama.ProducerMessage{Partition: p, Value: sarama.StringEncoder(fmt.Sprintf("first-%d-%d", p, i))})
		}
	}
	produce(e, round1, nil)
	waitFor("40 records consumed by the two members", func() bool {
		a, _, errA := first.snapshot()
		b, _, errB := second.snapshot()
		must(errors.Join(errA, errB), "members")
		return a+b >= 40
	})
	first.stop()
	second.stop()
	seen := map[string]bool{}
	for _, m := range []*member{first, second} {
		for _, v := range m.values {
			seen[v] = true
		}
	}
	check(len(seen) == 40 && len(first.values)+len(second.values) == 40, "members consumed %d records, %d distinct", len(first.values)+len(second.values), len(seen))
	check(len(first.values) > 0 && len(second.values) > 0, "one member consumed nothing: %d+%d", len(first.values), len(second.values))

	adm := admin(e)
	committed, err := adm.ListConsumerGroupOffsets(e.group, map[string][]int32{e.topic: {0, 1, 2, 3}})
	adm.Close()
	must(err, "ListConsumerGroupOffsets")
	for p := int32(0); p < 4; p++ {
		block := committed.GetBlock(e.topic, p)
		check(block != nil && block.Err == sarama.ErrNoError && block.Offset == 10, "committed offset of partition %d: %+v", p, block)
	}

	var round2 []*sarama.ProducerMessage
	expected := map[string]bool{}
	for n := 0; n < 20; n++ {
		value := fmt.Sprintf("second-%d", n)
		expected[value] = true
		round2 = append(round2, &sarama.ProducerMessage{Partition: int32(n % 4), Value: sarama.StringEncoder(value)})
	}
	produce(e, round2, nil)
	third := startMember(e, "c")
	waitFor("the new member to read 20 records", func() bool { c, _, err := third.snapshot(); must(err, "member c"); return c >= 20 })
	time.Sleep(500 * time.Millisecond) // strays from before the commits would show up now
	third.stop()
	got := map[string]bool{}
	for _, v := range third.values {
		got[v] = true
	}
	check(len(third.values) == 20 && len(got) == 20, "new member read %d records (%d distinct)", len(third.values), len(got))
	for value := range got {
		check(expected[value], "new member read %q, which was consumed and committed before", value)
	}
	return fmt.Sprintf("2 members (%v + %v) consumed 40 and committed 10 per partition; a new member resumed with exactly the 20 new records", splitA, splitB)
}

func consumeFromTimestamp(e env) string {
	var messages []*sarama.ProducerMessage
	for i := 0; i < 10; i++ {
		messages = append(messages, &sarama.ProducerMessage{Partition: 0, Value: sarama.StringEncoder(fmt.Sprintf("value-%d", i)), Timestamp: time.UnixMilli(baseTimestamp + 1000*int64(i))})
	}
	produce(e, messages, nil)
	client, err := sarama.NewClient([]string{e.bootstrap}, config())
	must(err, "NewClient")
	defer client.Close()
	offset, err := client.GetOffset(e.topic, 0, baseTimestamp+4500)
	must(err, "GetOffset")
	check(offset == 5, "offset for timestamp +4500 ms = %d", offset)
	past, err := client.GetOffset(e.topic, 0, baseTimestamp+100_000)
	must(err, "GetOffset past the end")
	check(past == -1, "offset for a time past the last record = %d, expected -1", past)
	consumed := consume(e, 0, offset, 5)
	checkOffsets(consumed, 5)
	for i, m := range consumed {
		checkBytes(fmt.Sprintf("value at offset %d", 5+i), encoded(messages[5+i].Value), m.Value)
	}
	return "GetOffset(+4500 ms) = 5, read 5..9; a time past the end = -1"
}

// transactionsReadCommitted: commit 3, abort 2, commit 2 (compat-tests/lib/scenarios.ts `transactions`)
// with sarama's transactional SyncProducer; a ReadCommitted PartitionConsumer reads the 5 committed values.
func transactionsReadCommitted(e env) string {
	cfg := config()
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1
	cfg.Producer.Transaction.ID = e.topic + "-tx"
	producer, err := sarama.NewSyncProducer([]string{e.bootstrap}, cfg)
	must(err, "NewSyncProducer (transactional)")
	defer producer.Close()
	run := func(values []string, commit bool) {
		must(producer.BeginTxn(), "BeginTxn")
		var messages []*sarama.ProducerMessage
		for _, v := range values {
			messages = append(messages, &sarama.ProducerMessage{Topic: e.topic, Partition: 0, Value: sarama.StringEncoder(v)})
		}
		must(producer.SendMessages(messages), "produce in the transaction")
		if commit {
			must(producer.CommitTxn(), "CommitTxn")
		} else {
			must(producer.AbortTxn(), "AbortTxn")
		}
	}
	run([]string{"txn-committed-0", "txn-committed-1", "txn-committed-2"}, true)
	run([]string{"txn-aborted-0", "txn-aborted-1"}, false)
	run([]string{"txn-committed-3", "txn-committed-4"}, true)
	readCfg := config()
	readCfg.Consumer.IsolationLevel = sarama.ReadCommitted
	consumer, err := sarama.NewConsumer([]string{e.bootstrap}, readCfg)
	must(err, "NewConsumer")
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(e.topic, 0, 0)
	must(err, "ConsumePartition")
	defer pc.Close()
	timeout := time.After(wait)
	var values []string
	for len(values) < 5 {
		select {
		case m := <-pc.Messages():
			values = append(values, string(m.Value))
		case err := <-pc.Errors():
			must(err, "consume")
		case <-timeout:
			panic(fmt.Sprintf("read %d of 5 committed records within %s", len(values), wait))
		}
	}
	for i, v := range values {
		check(v == fmt.Sprintf("txn-committed-%d", i), "read_committed value %d: %q", i, v)
	}
	return "5 committed records read back by a ReadCommitted consumer, the 2 aborted ones skipped (Producer.Transaction.ID, BeginTxn/CommitTxn/AbortTxn)"
}
