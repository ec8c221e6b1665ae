// The client of bench:compare's scale rows (bench/lib/scale.ts): many producers, a consumer group and thousands of
// connections from one cheap process (franz-go), so the client does not take the cores the brokers are measured on.
// Each subcommand prints one JSON line on stdout; failures go to stderr with a non-zero exit.
//
//	scale create      -bootstrap B -prefix P -topics 10 -partitions 100
//	scale produce     -bootstrap B -prefix P -topics 10 -producers 50 -records N -bytes 100
//	scale consume     -bootstrap B -prefix P -topics 10 -members 10 -records N -group G
//	scale connections -bootstrap B -topic T -partitions 50 -idle 2000 -active 100 -records N -bytes 100 -pid PID
//	scale idle        -bootstrap B -topic T -idle 2000   (holds them until stdin closes)
//	scale latency     -bootstrap B -topic T -rate R -seconds S -bytes 100   (produce to consume, one partition)
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

const clientID = "zombi-bench-scale"

// How long any one step may take before the driver gives up (the bench keeps steps to seconds).
const stepTimeout = 5 * time.Minute

func main() {
	if len(os.Args) < 2 {
		fail("usage: scale create|produce|consume|connections|version [flags]")
	}
	flags := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	bootstrap := flags.String("bootstrap", "", "host:port")
	prefix := flags.String("prefix", "scale", "topic name prefix: topics are PREFIX-0 … PREFIX-(topics-1)")
	topics := flags.Int("topics", 10, "topics")
	partitions := flags.Int("partitions", 1, "partitions per topic")
	producers := flags.Int("producers", 50, "producer clients")
	members := flags.Int("members", 10, "consumer group members")
	records := flags.Int("records", 10_000, "records in total")
	recordBytes := flags.Int("bytes", 100, "record value bytes")
	window := flags.Int("window", 1000, "records one producer may have unacknowledged")
	group := flags.String("group", "scale-group", "consumer group id")
	topic := flags.String("topic", "scale-connections", "topic of the connections scenario")
	idle := flags.Int("idle", 2000, "idle connections")
	active := flags.Int("active", 100, "active clients (half produce, half fetch)")
	pid := flags.Int("pid", 0, "broker process id (its /proc usage is reported per phase)")
	rate := flags.Float64("rate", 1000, "records per second the latency producer sends")
	seconds := flags.Float64("seconds", 5, "how long the latency producer sends")
	if err := flags.Parse(os.Args[2:]); err != nil {
		fail(err.Error())
	}
	if os.Args[1] == "version" {
		fmt.Println(moduleVersion("github.com/twmb/franz-go"))
		return
	}
	if *bootstrap == "" {
		fail("-bootstrap is required")
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	names := topicNames(*prefix, *topics)
	var result any
	var err error
	switch os.Args[1] {
	case "create":
		err = createTopics(ctx, *bootstrap, names, *partitions)
		result = map[string]any{"topics": len(names), "partitions": len(names) * *partitions}
	case "produce":
		result, err = produce(ctx, *bootstrap, names, nil, *producers, *records, *recordBytes, *window)
	case "consume":
		result, err = consume(ctx, *bootstrap, names, *members, *records, *group)
	case "idle":
		// Opens the idle connections, says so on stdout, and holds them until stdin closes (for memory probes by hand).
		conns, openError := openIdle(ctx, *bootstrap, *topic, *idle)
		if openError != nil {
			fail(openError.Error())
		}
		fmt.Printf("{\"open\":%d}\n", len(conns))
		_, _ = io.Copy(io.Discard, os.Stdin)
		fmt.Printf("{\"stillAnswering\":%d}\n", stillAnswering(conns))
		return
	case "latency":
		result, err = produceToConsume(ctx, *bootstrap, *topic, *rate, *seconds, *recordBytes)
	case "connections":
		result, err = connections(ctx, *bootstrap, *topic, *partitions, *idle, *active, *records, *recordBytes, *window, *pid)
	default:
		fail("unknown subcommand " + os.Args[1])
	}
	if err != nil {
		fail(err.Error())
	}
	line, _ := json.Marshal(result)
	fmt.Println(string(line))
}

func fail(message string) {
	fmt.Fprintln(os.Stderr, "scale:", message)
	os.Exit(1)
}

func moduleVersion(path string) string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == path {
				return dep.Version
			}
		}
	}
	return "unknown"
}

func topicNames(prefix string, count int) []string {
	names := make([]string, count)
	for i := range names {
		names[i] = prefix + "-" + strconv.Itoa(i)
	}
	return names
}

func newClient(bootstrap string, options ...kgo.Opt) (*kgo.Client, error) {
	return kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(bootstrap), kgo.ClientID(clientID)}, options...)...)
}

// Creates the topics and waits until every partition answers ListOffsets, so no timed step pays for leader election.
func createTopics(ctx context.Context, bootstrap string, names []string, partitions int) error {
	client, err := newClient(bootstrap)
	if err != nil {
		return err
	}
	defer client.Close()
	admin := kadm.NewClient(client)
	created, err := admin.CreateTopics(ctx, int32(partitions), 1, nil, names...)
	if err != nil {
		return err
	}
	for _, topic := range created.Sorted() {
		if topic.Err != nil {
			return fmt.Errorf("create %s: %w", topic.Topic, topic.Err)
		}
	}
	for {
		offsets, err := admin.ListEndOffsets(ctx, names...)
		ready := err == nil && offsets.Error() == nil
		if ready {
			count := 0
			offsets.Each(func(kadm.ListedOffset) { count++ })
			ready = count == len(names)*partitions
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("topics not served in time: %v", err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type latency struct {
	P50Ms  float64 `json:"p50Ms"`
	P99Ms  float64 `json:"p99Ms"`
	P999Ms float64 `json:"p999Ms"`
}

type produced struct {
	Records int     `json:"records"`
	Bytes   int     `json:"bytes"`
	Seconds float64 `json:"seconds"`
	Latency latency `json:"latency"`
	// The latency subcommand's send-to-acknowledgement percentiles, beside its produce-to-consume ones.
	AckLatency *latency `json:"ackLatency,omitempty"`
}

func percentiles(durations []time.Duration) latency {
	slices.Sort(durations)
	at := func(q float64) float64 {
		if len(durations) == 0 {
			return 0
		}
		index := min(len(durations)-1, int(q*float64(len(durations))))
		return float64(durations[index].Microseconds()) / 1000
	}
	return latency{P50Ms: at(0.50), P99Ms: at(0.99), P999Ms: at(0.999)}
}

var filler = []byte("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")

// produce sends `records` keyed records spread over `producers` clients: producer i writes topic i mod len(names),
// to the partition its key hashes to (franz-go's default, Kafka's murmur2) or, with `partitionOf`, to the partition
// that names. The latency of a record is from its Produce call to its acknowledgement.
func produce(ctx context.Context, bootstrap string, names []string, partitionOf func(producer int) int32, producers, records, recordBytes, window int) (produced, error) {
	if producers < 1 || records%producers != 0 {
		return produced{}, fmt.Errorf("%d records do not split evenly over %d producers", records, producers)
	}
	perProducer := records / producers
	clients := make([]*kgo.Client, producers)
	for i := range clients {
		options := []kgo.Opt{kgo.DefaultProduceTopic(names[i%len(names)]), kgo.MaxBufferedRecords(window)}
		if partitionOf != nil {
			options = append(options, kgo.RecordPartitioner(kgo.ManualPartitioner()))
		}
		client, err := newClient(bootstrap, options...)
		if err != nil {
			return produced{}, err
		}
		defer client.Close()
		clients[i] = client
	}
	// Connected and holding metadata before the clock starts, as the other loads of the bench are.
	for _, client := range clients {
		if err := client.Ping(ctx); err != nil {
			return produced{}, err
		}
	}
	latencies := make([][]time.Duration, producers)
	var firstError atomic.Value
	var wait sync.WaitGroup
	started := time.Now()
	for i, client := range clients {
		wait.Add(1)
		go func() {
			defer wait.Done()
			mine := make([]time.Duration, perProducer)
			latencies[i] = mine
			values := make([]byte, perProducer*recordBytes)
			keys := make([]byte, perProducer*8)
			for n := range perProducer {
				index := i*perProducer + n
				value := values[n*recordBytes : (n+1)*recordBytes]
				for at := 0; at < len(value); at += copy(value[at:], filler) {
				}
				copy(value, strconv.Itoa(index))
				key := keys[n*8 : (n+1)*8]
				binary.BigEndian.PutUint64(key, uint64(index))
				record := &kgo.Record{Key: key, Value: value}
				if partitionOf != nil {
					record.Partition = partitionOf(i)
				}
				sent := time.Now()
				client.Produce(ctx, record, func(_ *kgo.Record, err error) {
					mine[n] = time.Since(sent)
					if err != nil {
						firstError.CompareAndSwap(nil, err)
					}
				})
			}
			if err := client.Flush(ctx); err != nil {
				firstError.CompareAndSwap(nil, err)
			}
		}()
	}
	wait.Wait()
	seconds := time.Since(started).Seconds()
	if err, _ := firstError.Load().(error); err != nil {
		return produced{}, fmt.Errorf("produce: %w", err)
	}
	all := make([]time.Duration, 0, records)
	for _, mine := range latencies {
		all = append(all, mine...)
	}
	return produced{Records: records, Bytes: records * recordBytes, Seconds: seconds, Latency: percentiles(all)}, nil
}

// Highest offset + 1 seen per partition: offsets are dense from 0 (no transactions), so their sum over the
// partitions counts distinct records, whatever a rebalance delivers twice.
type progress struct {
	mu    sync.Mutex
	next  map[string][]int64
	total int64
	first time.Time
}

func (p *progress) add(fetches kgo.Fetches) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	fetches.EachRecord(func(record *kgo.Record) {
		if p.first.IsZero() {
			p.first = time.Now()
		}
		next := p.next[record.Topic]
		for int(record.Partition) >= len(next) {
			next = append(next, 0)
		}
		if record.Offset+1 > next[record.Partition] {
			p.total += record.Offset + 1 - next[record.Partition]
			next[record.Partition] = record.Offset + 1
		}
		p.next[record.Topic] = next
	})
	return p.total
}

type consumed struct {
	Records int `json:"records"`
	// From the members' start to the last record.
	Seconds float64 `json:"seconds"`
	// From the members' start to the first record (joining the group and the first assignment).
	JoinSeconds float64 `json:"joinSeconds"`
	Members     int     `json:"members"`
}

// consume reads every record of `names` with a classic-protocol consumer group of `members` clients (franz-go's
// default cooperative-sticky balancer), from the start, until `records` distinct records arrived.
func consume(ctx context.Context, bootstrap string, names []string, members, records int, group string) (consumed, error) {
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	state := &progress{next: map[string][]int64{}}
	var firstError atomic.Value
	var wait sync.WaitGroup
	started := time.Now()
	var done time.Time
	var doneOnce sync.Once
	clients := make([]*kgo.Client, members)
	for i := range clients {
		client, err := newClient(bootstrap, kgo.ConsumerGroup(group), kgo.ConsumeTopics(names...), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		if err != nil {
			return consumed{}, err
		}
		clients[i] = client
	}
	for _, client := range clients {
		wait.Add(1)
		go func() {
			defer wait.Done()
			for ctx.Err() == nil {
				fetches := client.PollFetches(ctx)
				for _, fetchError := range fetches.Errors() {
					if !errors.Is(fetchError.Err, context.Canceled) && !errors.Is(fetchError.Err, context.DeadlineExceeded) {
						firstError.CompareAndSwap(nil, fmt.Errorf("%s[%d]: %w", fetchError.Topic, fetchError.Partition, fetchError.Err))
						stop()
					}
				}
				if state.add(fetches) >= int64(records) {
					doneOnce.Do(func() { done = time.Now() })
					stop()
				}
			}
		}()
	}
	wait.Wait()
	// Leaving the group is not timed.
	for _, client := range clients {
		client.Close()
	}
	if err, _ := firstError.Load().(error); err != nil {
		return consumed{}, err
	}
	if done.IsZero() {
		return consumed{}, fmt.Errorf("consumed %d of %d records before the step's deadline", state.total, records)
	}
	return consumed{Records: records, Seconds: done.Sub(started).Seconds(), JoinSeconds: state.first.Sub(started).Seconds(), Members: members}, nil
}

// ---- connections ----

type usage struct {
	CPUSeconds float64 `json:"cpuSeconds"`
	RssBytes   int64   `json:"rssBytes"`
	PeakBytes  int64   `json:"peakRssBytes"`
}

// Reads utime+stime and VmRSS/VmHWM of a live process (Linux; USER_HZ is 100 on every Linux the bench runs on).
func readUsage(pid int) (usage, error) {
	if pid <= 0 {
		return usage{}, nil
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return usage{}, err
	}
	fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+2:]))
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	result := usage{CPUSeconds: (utime + stime) / 100}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	defer status.Close()
	scanner := bufio.NewScanner(status)
	for scanner.Scan() {
		line := scanner.Text()
		kilobytes := func() int64 {
			value, _ := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			return value * 1024
		}
		if strings.HasPrefix(line, "VmRSS:") {
			result.RssBytes = kilobytes()
		} else if strings.HasPrefix(line, "VmHWM:") {
			result.PeakBytes = kilobytes()
		}
	}
	return result, nil
}

type phase struct {
	IdleConnections int      `json:"idleConnections"`
	Produce         produced `json:"produce"`
	// From the producers' start until every fetching client read its partition's records of this phase.
	EndToEndSeconds float64 `json:"endToEndSeconds"`
	// Broker CPU seconds during the phase, and its resident memory at the end.
	BrokerCPUSeconds float64 `json:"brokerCpuSeconds"`
	BrokerRssBytes   int64   `json:"brokerRssBytes"`
}

type connectionsResult struct {
	Phases []phase `json:"phases"`
	// Opening the idle connections (ApiVersions + Metadata each), and the broker's resident memory before and after.
	IdleOpenSeconds   float64 `json:"idleOpenSeconds"`
	RssBeforeIdle     int64   `json:"rssBeforeIdleBytes"`
	RssWithIdle       int64   `json:"rssWithIdleBytes"`
	IdleAliveAfter    int     `json:"idleAliveAfter"`
	BrokerPeakRss     int64   `json:"brokerPeakRssBytes"`
	ActiveClients     int     `json:"activeClients"`
	RecordsPerPhase   int     `json:"recordsPerPhase"`
	PartitionsOfTopic int     `json:"partitions"`
}

// connections runs the same active load three times: once untimed, then without and with `idle` connections open
// (each did ApiVersions and Metadata, then nothing), and checks afterwards that every idle connection still answers.
func connections(ctx context.Context, bootstrap, topic string, partitions, idle, active, records, recordBytes, window, pid int) (connectionsResult, error) {
	producers := active / 2
	fetchers := active - producers
	if producers < 1 || fetchers < 1 || partitions < producers || records%producers != 0 {
		return connectionsResult{}, fmt.Errorf("need at least 2 active clients, %d partitions ≥ producers, records divisible by producers", partitions)
	}
	if err := createTopics(ctx, bootstrap, []string{topic}, partitions); err != nil {
		return connectionsResult{}, err
	}
	result := connectionsResult{ActiveClients: active, RecordsPerPhase: records, PartitionsOfTopic: partitions}
	run := func(round, idleOpen int) error {
		before, err := readUsage(pid)
		if err != nil {
			return err
		}
		ran, err := activePhase(ctx, bootstrap, topic, round, producers, fetchers, records, recordBytes, window)
		if err != nil {
			return err
		}
		after, err := readUsage(pid)
		if err != nil {
			return err
		}
		ran.IdleConnections = idleOpen
		ran.BrokerCPUSeconds = after.CPUSeconds - before.CPUSeconds
		ran.BrokerRssBytes = after.RssBytes
		result.Phases = append(result.Phases, ran)
		return nil
	}
	// An untimed first phase: the first load on a fresh broker also pays for its warm-up (a JVM's JIT), which
	// would otherwise be charged to the phase without idle connections.
	if _, err := activePhase(ctx, bootstrap, topic, 0, producers, fetchers, records, recordBytes, window); err != nil {
		return result, err
	}
	if err := run(1, 0); err != nil {
		return result, err
	}
	before, err := readUsage(pid)
	if err != nil {
		return result, err
	}
	result.RssBeforeIdle = before.RssBytes
	opened := time.Now()
	conns, err := openIdle(ctx, bootstrap, topic, idle)
	defer func() {
		for _, conn := range conns {
			conn.Close()
		}
	}()
	if err != nil {
		return result, err
	}
	result.IdleOpenSeconds = time.Since(opened).Seconds()
	withIdle, err := readUsage(pid)
	if err != nil {
		return result, err
	}
	result.RssWithIdle = withIdle.RssBytes
	if err := run(2, idle); err != nil {
		return result, err
	}
	result.IdleAliveAfter = stillAnswering(conns)
	final, err := readUsage(pid)
	if err != nil {
		return result, err
	}
	result.BrokerPeakRss = final.PeakBytes
	return result, nil
}

// activePhase: `producers` clients each write records/producers records to their own partition while `fetchers`
// clients each read one partition (fetcher i reads partition i mod producers) from where this phase started.
func activePhase(ctx context.Context, bootstrap, topic string, round, producers, fetchers, records, recordBytes, window int) (phase, error) {
	perPartition := int64(records / producers)
	startOffset := int64(round) * perPartition
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	readers := make([]*kgo.Client, fetchers)
	for i := range readers {
		partition := int32(i % producers)
		client, err := newClient(bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {partition: kgo.NewOffset().At(startOffset)}}))
		if err != nil {
			return phase{}, err
		}
		defer client.Close()
		readers[i] = client
	}
	var readError atomic.Value
	var reading sync.WaitGroup
	started := time.Now()
	for _, client := range readers {
		reading.Add(1)
		go func() {
			defer reading.Done()
			next := startOffset
			for next < startOffset+perPartition && ctx.Err() == nil {
				fetches := client.PollFetches(ctx)
				for _, fetchError := range fetches.Errors() {
					if !errors.Is(fetchError.Err, context.Canceled) {
						readError.CompareAndSwap(nil, fetchError.Err)
						stop()
					}
				}
				fetches.EachRecord(func(record *kgo.Record) { next = max(next, record.Offset+1) })
			}
		}()
	}
	names := []string{topic}
	sent, err := produce(ctx, bootstrap, names, func(producer int) int32 { return int32(producer) }, producers, records, recordBytes, window)
	if err != nil {
		return phase{}, err
	}
	reading.Wait()
	if err, _ := readError.Load().(error); err != nil {
		return phase{}, fmt.Errorf("fetch: %w", err)
	}
	if ctx.Err() != nil {
		return phase{}, fmt.Errorf("fetchers did not read every record in time")
	}
	return phase{Produce: sent, EndToEndSeconds: time.Since(started).Seconds()}, nil
}

// One raw connection that did ApiVersions and Metadata, the way a client's bootstrap does, and then nothing.
type idleConn struct {
	net.Conn
	correlation int32
	formatter   *kmsg.RequestFormatter
}

func (c *idleConn) roundTrip(request kmsg.Request) (kmsg.Response, error) {
	c.correlation++
	if _, err := c.Write(c.formatter.AppendRequest(nil, request, c.correlation)); err != nil {
		return nil, err
	}
	var size [4]byte
	if _, err := io.ReadFull(c, size[:]); err != nil {
		return nil, err
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(c, body); err != nil {
		return nil, err
	}
	if len(body) < 4 || int32(binary.BigEndian.Uint32(body)) != c.correlation {
		return nil, fmt.Errorf("response with a wrong correlation id")
	}
	body = body[4:]
	response := request.ResponseKind()
	response.SetVersion(request.GetVersion())
	// Flexible responses carry a tagged-field section in the header, except ApiVersions' (always header v0).
	if response.IsFlexible() && request.Key() != kmsg.ApiVersions.Int16() {
		skipped, err := skipTags(body)
		if err != nil {
			return nil, err
		}
		body = body[skipped:]
	}
	if err := response.ReadFrom(body); err != nil {
		return nil, err
	}
	return response, nil
}

func skipTags(body []byte) (int, error) {
	count, at := binary.Uvarint(body)
	if at <= 0 {
		return 0, fmt.Errorf("bad tagged fields")
	}
	for range count {
		_, n := binary.Uvarint(body[at:])
		if n <= 0 {
			return 0, fmt.Errorf("bad tag")
		}
		at += n
		size, n := binary.Uvarint(body[at:])
		if n <= 0 {
			return 0, fmt.Errorf("bad tag size")
		}
		at += n + int(size)
	}
	return at, nil
}

func (c *idleConn) apiVersions() (*kmsg.ApiVersionsResponse, error) {
	request := kmsg.NewPtrApiVersionsRequest()
	request.Version = 3
	request.ClientSoftwareName = clientID
	request.ClientSoftwareVersion = "1.0"
	response, err := c.roundTrip(request)
	if err != nil {
		return nil, err
	}
	versions := response.(*kmsg.ApiVersionsResponse)
	if versions.ErrorCode != 0 {
		return nil, fmt.Errorf("ApiVersions error %d", versions.ErrorCode)
	}
	return versions, nil
}

func dialIdle(ctx context.Context, bootstrap, topic string) (*idleConn, error) {
	var dialer net.Dialer
	raw, err := dialer.DialContext(ctx, "tcp", bootstrap)
	if err != nil {
		return nil, err
	}
	conn := &idleConn{Conn: raw, formatter: kmsg.NewRequestFormatter(kmsg.FormatterClientID(clientID))}
	_ = raw.SetDeadline(time.Now().Add(30 * time.Second))
	versions, err := conn.apiVersions()
	if err != nil {
		raw.Close()
		return nil, err
	}
	metadataVersion := int16(-1)
	for _, key := range versions.ApiKeys {
		if key.ApiKey == kmsg.Metadata.Int16() {
			metadataVersion = min(key.MaxVersion, 12)
		}
	}
	if metadataVersion < 0 {
		raw.Close()
		return nil, fmt.Errorf("broker does not offer Metadata")
	}
	request := kmsg.NewPtrMetadataRequest()
	request.Version = metadataVersion
	requested := kmsg.NewMetadataRequestTopic()
	requested.Topic = kmsg.StringPtr(topic)
	request.Topics = append(request.Topics, requested)
	response, err := conn.roundTrip(request)
	if err != nil {
		raw.Close()
		return nil, err
	}
	metadata := response.(*kmsg.MetadataResponse)
	if len(metadata.Topics) != 1 || metadata.Topics[0].ErrorCode != 0 {
		raw.Close()
		return nil, fmt.Errorf("Metadata for %s failed", topic)
	}
	_ = raw.SetDeadline(time.Time{})
	return conn, nil
}

// Opens `count` idle connections, at most 64 handshakes at a time (the listen backlog is finite).
func openIdle(ctx context.Context, bootstrap, topic string, count int) ([]*idleConn, error) {
	conns := make([]*idleConn, count)
	var firstError atomic.Value
	var wait sync.WaitGroup
	slots := make(chan struct{}, 64)
	for i := range conns {
		wait.Add(1)
		slots <- struct{}{}
		go func() {
			defer wait.Done()
			defer func() { <-slots }()
			conn, err := dialIdle(ctx, bootstrap, topic)
			if err != nil {
				firstError.CompareAndSwap(nil, fmt.Errorf("idle connection %d: %w", i, err))
				return
			}
			conns[i] = conn
		}()
	}
	wait.Wait()
	open := slices.DeleteFunc(conns, func(conn *idleConn) bool { return conn == nil })
	if err, _ := firstError.Load().(error); err != nil {
		return open, err
	}
	return open, nil
}

// How many idle connections answer ApiVersions after the active phase (a broker may have closed some).
func stillAnswering(conns []*idleConn) int {
	var alive atomic.Int64
	var wait sync.WaitGroup
	slots := make(chan struct{}, 64)
	for _, conn := range conns {
		wait.Add(1)
		slots <- struct{}{}
		go func() {
			defer wait.Done()
			defer func() { <-slots }()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := conn.apiVersions(); err == nil {
				alive.Add(1)
			}
		}()
	}
	wait.Wait()
	return int(alive.Load())
}

// produceToConsume sends `rate` records per second for `seconds` to partition 0 of `topic` (acks=all, no linger) while
// a consumer of the same process reads the partition; a record's latency is from just before its Produce call to
// the return of the poll that delivers it, on one monotonic clock. The value starts with the record's index.
// A cheap client (Go, sub-millisecond GC pauses) so what is timed is the broker, not the client's own stalls.
func produceToConsume(ctx context.Context, bootstrap, topic string, rate, seconds float64, recordBytes int) (produced, error) {
	total := max(1, int(rate*seconds))
	if recordBytes < 8 {
		return produced{}, errors.New("-bytes must be at least 8 (the value carries the record's index)")
	}
	sentAt := make([]time.Time, total)
	latencies := make([]time.Duration, 0, total)
	producer, err := newClient(bootstrap, kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0), kgo.MaxBufferedRecords(total+1))
	if err != nil {
		return produced{}, err
	}
	defer producer.Close()
	consumer, err := newClient(bootstrap, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxWait(500*time.Millisecond), kgo.FetchMinBytes(1))
	if err != nil {
		return produced{}, err
	}
	defer consumer.Close()
	// Both clients know the partition's leader before the clock starts.
	if err := producer.Ping(ctx); err != nil {
		return produced{}, err
	}
	var sendError atomic.Value
	consumed := make(chan error, 1)
	go func() {
		received := 0
		for received < total {
			fetches := consumer.PollFetches(ctx)
			arrived := time.Now()
			if errs := fetches.Errors(); len(errs) > 0 {
				consumed <- fmt.Errorf("fetch: %v", errs[0].Err)
				return
			}
			fetches.EachRecord(func(record *kgo.Record) {
				index := int(binary.BigEndian.Uint64(record.Value))
				if index < total {
					latencies = append(latencies, arrived.Sub(sentAt[index]))
					received++
				}
			})
		}
		consumed <- nil
	}()
	var ackMutex sync.Mutex
	ackLatencies := make([]time.Duration, 0, total)
	value := make([]byte, recordBytes)
	copy(value[8:], bytes.Repeat(filler, recordBytes/len(filler)+1))
	started := time.Now()
	sent := 0
	ticker := time.NewTicker(time.Millisecond)
	defer ticker.Stop()
	for sent < total && sendError.Load() == nil {
		due := min(total, int(time.Since(started).Seconds()*rate)+1)
		for ; sent < due; sent++ {
			record := &kgo.Record{Partition: 0, Value: slices.Clone(value)}
			binary.BigEndian.PutUint64(record.Value, uint64(sent))
			sentAt[sent] = time.Now()
			index := sent
			producer.Produce(ctx, record, func(_ *kgo.Record, err error) {
				if err != nil {
					sendError.CompareAndSwap(nil, err)
					return
				}
				acked := time.Since(sentAt[index])
				ackMutex.Lock()
				ackLatencies = append(ackLatencies, acked)
				ackMutex.Unlock()
			})
		}
		select {
		case <-ticker.C:
		case <-ctx.Done():
			return produced{}, ctx.Err()
		}
	}
	if err := producer.Flush(ctx); err != nil {
		return produced{}, err
	}
	if failed, ok := sendError.Load().(error); ok {
		return produced{}, failed
	}
	if err := <-consumed; err != nil {
		return produced{}, err
	}
	elapsed := time.Since(started).Seconds()
	ackMutex.Lock()
	defer ackMutex.Unlock()
	return produced{Records: total, Bytes: total * recordBytes, Seconds: elapsed, Latency: percentiles(latencies), AckLatency: ptr(percentiles(ackLatencies))}, nil
}

func ptr[T any](value T) *T { return &value }
