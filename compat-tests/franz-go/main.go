// Driver of the franz-go family: runs one harness scenario (compat-tests/README.md) with franz-go's
// kgo client and kadm admin, and prints the result line {"status": ..., "detail": ...}.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"os"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
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
		fmt.Println(moduleVersion("github.com/twmb/franz-go"))
		return
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
		return groupCommitResume(e, false)
	case "kip848-group":
		return groupCommitResume(e, true)
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

func ctxWait() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), wait)
}

func client(e env, opts ...kgo.Opt) *kgo.Client {
	base := []kgo.Opt{kgo.SeedBrokers(e.bootstrap), kgo.ClientID("zombi-compat-franz-go"), kgo.RecordPartitioner(kgo.ManualPartitioner())}
	if os.Getenv("COMPAT_DEBUG") != "" {
		base = append(base, kgo.WithLogger(kgo.BasicLogger(os.Stderr, kgo.LogLevelDebug, nil)))
	}
	cl, err := kgo.NewClient(append(base, opts...)...)
	must(err, "kgo.NewClient")
	return cl
}

// produce sends every record (idempotent by default in franz-go) and waits for all acknowledgements.
func produce(e env, records []*kgo.Record, opts ...kgo.Opt) {
	cl := client(e, opts...)
	defer cl.Close()
	ctx, cancel := ctxWait()
	defer cancel()
	for _, r := range records {
		if r.Topic == "" {
			r.Topic = e.topic
		}
	}
	must(cl.ProduceSync(ctx, records...).FirstErr(), "produce")
}

// consume reads partition `partition` from `from` without a group until `count` records arrived.
func consume(e env, partition int32, from int64, count int, opts ...kgo.Opt) []*kgo.Record {
	cl := client(e, append([]kgo.Opt{kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{e.topic: {partition: kgo.NewOffset().At(from)}})}, opts...)...)
	defer cl.Close()
	ctx, cancel := ctxWait()
	defer cancel()
	var records []*kgo.Record
	for len(records) < count {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			panic(fmt.Sprintf("consumed %d of %d records within %s", len(records), count, wait))
		}
		fetches.EachError(func(topic string, p int32, err error) { must(err, fmt.Sprintf("fetch %s/%d", topic, p)) })
		records = append(records, fetches.Records()...)
	}
	check(len(records) == count, "consumed %d records, expected %d", len(records), count)
	return records
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

// sameBytes compares including null-ness: nil and empty are different things on the wire.
func checkBytes(what string, expected, actual []byte) {
	check((expected == nil) == (actual == nil) && bytes.Equal(expected, actual), "%s: expected %s, got %s", what, show(expected), show(actual))
}

func checkOffsets(records []*kgo.Record, first int64) {
	for i, r := range records {
		check(r.Offset == first+int64(i), "record %d has offset %d, expected %d", i, r.Offset, first+int64(i))
	}
}

func admin(e env) (*kadm.Client, *kgo.Client) {
	cl := client(e)
	return kadm.NewClient(cl), cl
}

// ---- scenarios ------------------------------------------------------------------------------

func metadata(e env) string {
	host, portText, _ := net.SplitHostPort(e.bootstrap)
	port, _ := strconv.Atoi(portText)
	adm, cl := admin(e)
	defer cl.Close()
	ctx, cancel := ctxWait()
	defer cancel()
	md, err := adm.Metadata(ctx, e.topic)
	must(err, "metadata")
	check(len(md.Brokers) == 1, "metadata lists %d brokers", len(md.Brokers))
	broker := md.Brokers[0]
	check(broker.Host == host && int(broker.Port) == port, "broker advertised as %s:%d, bootstrap is %s", broker.Host, broker.Port, e.bootstrap)
	detail, ok := md.Topics[e.topic]
	check(ok, "topic missing from metadata")
	must(detail.Err, "topic metadata")
	check(len(detail.Partitions) == 3, "topic has %d partitions", len(detail.Partitions))
	for p := int32(0); p < 3; p++ {
		partition, ok := detail.Partitions[p]
		check(ok, "partition %d missing", p)
		must(partition.Err, fmt.Sprintf("partition %d", p))
		check(partition.Leader == broker.NodeID, "partition %d led by %d, broker is %d", p, partition.Leader, broker.NodeID)
	}
	return fmt.Sprintf("1 broker (id %d) at %s:%d, 3 partitions led by it, cluster %s", broker.NodeID, host, port, md.Cluster)
}

func adminCreateDescribeDelete(e env) string {
	adm, cl := admin(e)
	defer cl.Close()
	ctx, cancel := ctxWait()
	defer cancel()
	retention := "3600000"
	created, err := adm.CreateTopics(ctx, 3, 1, map[string]*string{"retention.ms": &retention}, e.topic)
	must(err, "CreateTopics")
	must(created[e.topic].Err, "CreateTopics "+e.topic)
	listed, err := adm.ListTopics(ctx, e.topic)
	must(err, "ListTopics (describe)")
	check(len(listed[e.topic].Partitions) == 3, "described with %d partitions", len(listed[e.topic].Partitions))
	configs, err := adm.DescribeTopicConfigs(ctx, e.topic)
	must(err, "DescribeTopicConfigs")
	config, err := configs.On(e.topic, nil)
	must(err, "DescribeTopicConfigs "+e.topic)
	must(config.Err, "DescribeTopicConfigs "+e.topic)
	value, source := "", ""
	for _, entry := range config.Configs {
		if entry.Key == "retention.ms" {
			value, source = entry.MaybeValue(), entry.Source.String()
		}
	}
	check(value == retention, "retention.ms = %q", value)
	deleted, err := adm.DeleteTopics(ctx, e.topic)
	must(err, "DeleteTopics")
	must(deleted[e.topic].Err, "DeleteTopics "+e.topic)
	for {
		all, err := adm.ListTopics(ctx)
		must(err, "ListTopics")
		if !all.Has(e.topic) {
			break
		}
		check(ctx.Err() == nil, "topic still listed after DeleteTopics")
		time.Sleep(100 * time.Millisecond)
	}
	return "created (3 partitions, retention.ms=3600000, source " + source + "), described, deleted, gone from ListTopics"
}

func codecValue(i int) []byte {
	line := fmt.Sprintf("record %d of the zombi compatibility harness; ", i)
	return []byte(strings.Repeat(line, (1024+len(line)-1)/len(line))[:1024])
}

var codecs = map[string]kgo.CompressionCodec{
	"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
	"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
}

func produceConsume(e env, codec string) string {
	var records []*kgo.Record
	for i := 0; i < 100; i++ {
		records = append(records, &kgo.Record{Partition: 0, Key: []byte(fmt.Sprintf("key-%d", i)), Value: codecValue(i)})
	}
	produce(e, records, kgo.ProducerBatchCompression(codecs[codec]), kgo.ProducerLinger(200*time.Millisecond), kgo.ProducerBatchMaxBytes(256*1024))
	consumed := consume(e, 0, 0, 100)
	checkOffsets(consumed, 0)
	for i, r := range consumed {
		checkBytes(fmt.Sprintf("key of record %d", i), records[i].Key, r.Key)
		checkBytes(fmt.Sprintf("value of record %d", i), records[i].Value, r.Value)
	}
	return "100 records, " + codec + ", consumed byte-exact at offsets 0-99"
}

func keysHeadersNulls(e env) string {
	records := []*kgo.Record{
		{Partition: 0, Key: []byte("k1"), Value: []byte("v1"), Headers: []kgo.RecordHeader{{Key: "h1", Value: []byte("a")}, {Key: "h1", Value: []byte("b")}, {Key: "h2", Value: []byte{0x00, 0xff}}}},
		{Partition: 0, Key: nil, Value: []byte("v2")},
		{Partition: 0, Key: []byte("k3"), Value: nil},
		{Partition: 0, Key: []byte{}, Value: []byte{}},
	}
	produce(e, records, kgo.ProducerLinger(50*time.Millisecond))
	consumed := consume(e, 0, 0, 4)
	checkOffsets(consumed, 0)
	for i, r := range consumed {
		checkBytes(fmt.Sprintf("key of record %d", i+1), records[i].Key, r.Key)
		checkBytes(fmt.Sprintf("value of record %d", i+1), records[i].Value, r.Value)
		check(len(r.Headers) == len(records[i].Headers), "record %d has %d headers", i+1, len(r.Headers))
		for h, header := range r.Headers {
			check(header.Key == records[i].Headers[h].Key, "header %d is named %s", h, header.Key)
			checkBytes(fmt.Sprintf("header %d (%s)", h, header.Key), records[i].Headers[h].Value, header.Value)
		}
	}
	return "4 records: headers h1,h1,h2 in order, null key, tombstone, empty key/value kept apart from null"
}

func timestampsCreateTime(e env) string {
	var records []*kgo.Record
	for i := 0; i < 3; i++ {
		records = append(records, &kgo.Record{Partition: 0, Value: []byte(fmt.Sprintf("value-%d", i)), Timestamp: time.UnixMilli(baseTimestamp + int64(i))})
	}
	produce(e, records)
	for i, r := range consume(e, 0, 0, 3) {
		check(r.Timestamp.UnixMilli() == baseTimestamp+int64(i), "record %d timestamp %d", i, r.Timestamp.UnixMilli())
		check(r.Attrs.TimestampType() == 0, "record %d timestamp type %d", i, r.Attrs.TimestampType())
	}
	return "timestamps 1600000000000..2 kept, type CreateTime"
}

func timestampsLogAppendTime(e env) string {
	start := time.Now().UnixMilli()
	var records []*kgo.Record
	for i := 0; i < 3; i++ {
		records = append(records, &kgo.Record{Partition: 0, Value: []byte(fmt.Sprintf("value-%d", i)), Timestamp: time.UnixMilli(baseTimestamp)})
	}
	produce(e, records)
	consumed := consume(e, 0, 0, 3)
	end := time.Now().UnixMilli()
	for i, r := range consumed {
		ts := r.Timestamp.UnixMilli()
		check(r.Attrs.TimestampType() == 1, "record %d timestamp type %d", i, r.Attrs.TimestampType())
		check(ts >= start-1000 && ts <= end+1000, "record %d timestamp %d outside [%d, %d]", i, ts, start-1000, end+1000)
	}
	return fmt.Sprintf("type LogAppendTime, broker time %d", consumed[0].Timestamp.UnixMilli())
}

func largeRecord(e env) string {
	value := make([]byte, 1_048_576)
	rand.New(rand.NewSource(42)).Read(value)
	produce(e, []*kgo.Record{{Partition: 0, Key: []byte("large"), Value: value}}, kgo.ProducerBatchMaxBytes(2*1_048_576), kgo.ProducerBatchCompression(kgo.NoCompression()))
	// Fetch limits stay at franz-go's defaults: the broker must send the larger batch whole.
	consumed := consume(e, 0, 0, 1)
	checkBytes("value", value, consumed[0].Value)
	return "1,048,576-byte value (ProducerBatchMaxBytes 2 MiB), consumed whole with default fetch sizes"
}

func idempotentProducer(e env) string {
	var records []*kgo.Record
	for i := 0; i < 100; i++ {
		records = append(records, &kgo.Record{Partition: 0, Key: []byte(fmt.Sprintf("key-%d", i)), Value: []byte(fmt.Sprintf("idempotent-%d", i))})
	}
	// Idempotent writes are franz-go's default (up to 5 requests in flight); small batches pipeline sequences.
	produce(e, records, kgo.ProducerBatchMaxBytes(512))
	consumed := consume(e, 0, 0, 100)
	checkOffsets(consumed, 0)
	for i, r := range consumed {
		checkBytes(fmt.Sprintf("value of record %d", i), records[i].Value, r.Value)
	}
	return "100 records with franz-go's default idempotent producer in 512-byte batches (up to 5 requests in flight): each once, in order"
}

// member is one group member polling on its own goroutine.
type member struct {
	name     string
	cl       *kgo.Client
	mu       sync.Mutex
	records  []*kgo.Record
	assigned map[int32]bool
	err      error
	done     chan struct{}
}

// newMember joins the scenario's group; serverSide opts into KIP-848 (the broker assigns, "uniform"
// for the sticky balancer).
func newMember(e env, name string, serverSide bool) *member {
	m := &member{name: name, assigned: map[int32]bool{}, done: make(chan struct{})}
	var protocol []kgo.Opt
	if serverSide {
		protocol = []kgo.Opt{kgo.ServerSideBalancer(), kgo.Balancers(kgo.CooperativeStickyBalancer())}
	}
	m.cl = client(e, append(protocol,
		kgo.ConsumerGroup(e.group), kgo.ConsumeTopics(e.topic), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.ClientID("zombi-compat-franz-go-"+name),
		kgo.SessionTimeout(10*time.Second), kgo.HeartbeatInterval(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, added map[string][]int32) {
			m.mu.Lock()
			defer m.mu.Unlock()
			for _, p := range added[e.topic] {
				m.assigned[p] = true
			}
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, lost map[string][]int32) {
			// Commit what was processed before giving partitions away.
			if err := cl.CommitUncommittedOffsets(ctx); err != nil {
				m.fail(err)
			}
			m.forget(lost[e.topic])
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, lost map[string][]int32) { m.forget(lost[e.topic]) }),
	)...)
	return m
}

func (m *member) forget(partitions []int32) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range partitions {
		delete(m.assigned, p)
	}
}

func (m *member) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = err
	}
}

func (m *member) start(ctx context.Context) {
	go func() {
		defer close(m.done)
		for ctx.Err() == nil {
			fetches := m.cl.PollFetches(ctx)
			if ctx.Err() != nil {
				return
			}
			fetches.EachError(func(topic string, p int32, err error) { m.fail(fmt.Errorf("fetch %s/%d: %w", topic, p, err)) })
			records := fetches.Records()
			if len(records) == 0 {
				continue
			}
			m.mu.Lock()
			m.records = append(m.records, records...)
			m.mu.Unlock()
			if err := m.cl.CommitRecords(ctx, records...); err != nil && ctx.Err() == nil {
				m.fail(err)
			}
		}
	}()
}

func (m *member) snapshot() (count int, partitions []int32, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for p := range m.assigned {
		partitions = append(partitions, p)
	}
	sort.Slice(partitions, func(i, j int) bool { return partitions[i] < partitions[j] })
	return len(m.records), partitions, m.err
}

func (m *member) stop(cancel context.CancelFunc) {
	cancel()
	<-m.done
	m.cl.Close() // leaves the group
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

// groupCommitResume is group-commit-resume with the classic protocol and kip848-group with serverSide.
func groupCommitResume(e env, serverSide bool) string {
	check(e.group != "", "COMPAT_GROUP is not set")
	// A kgo client joins its group as soon as it is created, so the second member is made only after
	// the first owns every partition: the scenario then sees one real rebalance.
	first := newMember(e, "a", serverSide)
	ctxA, cancelA := context.WithCancel(context.Background())
	first.start(ctxA)
	waitFor("member a's first assignment", func() bool { _, p, err := first.snapshot(); must(err, "member a"); return len(p) == 4 })
	second := newMember(e, "b", serverSide)
	ctxB, cancelB := context.WithCancel(context.Background())
	second.start(ctxB)
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
	var round1 []*kgo.Record
	for p := int32(0); p < 4; p++ {
		for i := 0; i < 10; i++ {
			round1 = append(round1, &kgo.Record{Partition: p, Value: []byte(fmt.Sprintf("first-%d-%d", p, i))})
		}
	}
	produce(e, round1)
	waitFor("40 records consumed by the two members", func() bool {
		a, _, errA := first.snapshot()
		b, _, errB := second.snapshot()
		must(errors.Join(errA, errB), "members")
		return a+b >= 40
	})
	first.stop(cancelA)
	second.stop(cancelB)
	seen := map[string]bool{}
	for _, m := range []*member{first, second} {
		for _, r := range m.records {
			seen[string(r.Value)] = true
		}
	}
	check(len(seen) == 40 && len(first.records)+len(second.records) == 40, "members consumed %d records, %d distinct", len(first.records)+len(second.records), len(seen))
	check(len(first.records) > 0 && len(second.records) > 0, "one member consumed nothing: %d+%d", len(first.records), len(second.records))

	adm, cl := admin(e)
	ctx, cancel := ctxWait()
	committed, err := adm.FetchOffsets(ctx, e.group)
	cancel()
	cl.Close()
	must(err, "FetchOffsets")
	for p := int32(0); p < 4; p++ {
		offset, ok := committed.Lookup(e.topic, p)
		check(ok && offset.Err == nil && offset.At == 10, "committed offset of partition %d: %+v", p, offset)
	}

	var round2 []*kgo.Record
	expected := map[string]bool{}
	for n := 0; n < 20; n++ {
		value := fmt.Sprintf("second-%d", n)
		expected[value] = true
		round2 = append(round2, &kgo.Record{Partition: int32(n % 4), Value: []byte(value)})
	}
	produce(e, round2)
	third := newMember(e, "c", serverSide)
	ctxC, cancelC := context.WithCancel(context.Background())
	third.start(ctxC)
	waitFor("the new member to read 20 records", func() bool { c, _, err := third.snapshot(); must(err, "member c"); return c >= 20 })
	time.Sleep(500 * time.Millisecond) // strays from before the commits would show up now
	third.stop(cancelC)
	got := map[string]bool{}
	for _, r := range third.records {
		got[string(r.Value)] = true
	}
	check(len(third.records) == 20 && len(got) == 20, "new member read %d records (%d distinct)", len(third.records), len(got))
	for value := range got {
		check(expected[value], "new member read %q, which was consumed and committed before", value)
	}
	prefix := ""
	if serverSide {
		prefix = "ServerSideBalancer (KIP-848): "
	}
	return fmt.Sprintf("%s2 members (%v + %v) consumed 40 and committed 10 per partition; a new member resumed with exactly the 20 new records", prefix, splitA, splitB)
}

func consumeFromTimestamp(e env) string {
	var records []*kgo.Record
	for i := 0; i < 10; i++ {
		records = append(records, &kgo.Record{Partition: 0, Value: []byte(fmt.Sprintf("value-%d", i)), Timestamp: time.UnixMilli(baseTimestamp + 1000*int64(i))})
	}
	produce(e, records)
	adm, cl := admin(e)
	ctx, cancel := ctxWait()
	listed, err := adm.ListOffsetsAfterMilli(ctx, baseTimestamp+4500, e.topic)
	cancel()
	cl.Close()
	must(err, "ListOffsetsAfterMilli")
	offset, ok := listed.Lookup(e.topic, 0)
	check(ok, "no offset listed for partition 0")
	must(offset.Err, "ListOffsetsAfterMilli partition 0")
	check(offset.Offset == 5, "offset for timestamp +4500 ms = %d", offset.Offset)
	check(offset.Timestamp == baseTimestamp+5000, "offset 5 listed with timestamp %d", offset.Timestamp)
	consumed := consume(e, 0, offset.Offset, 5)
	checkOffsets(consumed, 5)
	for i, r := range consumed {
		checkBytes(fmt.Sprintf("value at offset %d", 5+i), records[5+i].Value, r.Value)
	}
	return "ListOffsetsAfterMilli(+4500 ms) = offset 5 (timestamp +5000), read 5..9"
}

// transactionsReadCommitted: commit 3, abort 2, commit 2 (compat-tests/lib/scenarios.ts `transactions`);
// a read_committed consumer reads exactly the 5 committed values.
func transactionsReadCommitted(e env) string {
	cl := client(e, kgo.TransactionalID(e.topic+"-tx"))
	defer cl.Close()
	ctx, cancel := ctxWait()
	defer cancel()
	run := func(values []string, commit kgo.TransactionEndTry) {
		must(cl.BeginTransaction(), "BeginTransaction")
		var records []*kgo.Record
		for _, v := range values {
			records = append(records, &kgo.Record{Topic: e.topic, Partition: 0, Value: []byte(v)})
		}
		must(cl.ProduceSync(ctx, records...).FirstErr(), "produce in the transaction")
		must(cl.EndTransaction(ctx, commit), "EndTransaction")
	}
	run([]string{"txn-committed-0", "txn-committed-1", "txn-committed-2"}, kgo.TryCommit)
	run([]string{"txn-aborted-0", "txn-aborted-1"}, kgo.TryAbort)
	run([]string{"txn-committed-3", "txn-committed-4"}, kgo.TryCommit)
	consumed := consume(e, 0, 0, 5, kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	for i, r := range consumed {
		checkBytes(fmt.Sprintf("read_committed value %d", i), []byte(fmt.Sprintf("txn-committed-%d", i)), r.Value)
	}
	return "5 committed records read back with FetchIsolationLevel(ReadCommitted), the 2 aborted ones skipped (TransactionalID, EndTransaction)"
}
