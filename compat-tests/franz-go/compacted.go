// compacted-topic: the harness wrote 200 records over 10 keys (every 9th a tombstone) and waited for the
// log cleaner; reading from the beginning must give only records written at those offsets, each key's
// latest last, and a keyless record must be refused with INVALID_RECORD.
package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

const compactedCount = 200

func compactedTopic(e env) string {
	cl := client(e, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{e.topic: {0: kgo.NewOffset().AtStart()}}))
	ctx, cancel := ctxWait()
	var records []*kgo.Record
	for len(records) == 0 || records[len(records)-1].Offset < compactedCount-1 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			panic(fmt.Sprintf("did not reach offset %d within %s (read %d)", compactedCount-1, wait, len(records)))
		}
		fetches.EachError(func(topic string, p int32, err error) { must(err, fmt.Sprintf("fetch %s/%d", topic, p)) })
		records = append(records, fetches.Records()...)
	}
	cancel()
	cl.Close()
	previous := int64(-1)
	lastOfKey := map[string]int64{}
	for _, r := range records {
		check(r.Offset > previous, "offset %d after %d", r.Offset, previous)
		previous = r.Offset
		check(r.Offset < compactedCount, "offset %d was never written", r.Offset)
		checkBytes(fmt.Sprintf("key at offset %d", r.Offset), []byte(fmt.Sprintf("compact-key-%d", r.Offset%10)), r.Key)
		var value []byte
		if r.Offset%9 != 4 {
			value = []byte(fmt.Sprintf("compact value %d", r.Offset))
		}
		checkBytes(fmt.Sprintf("value at offset %d", r.Offset), value, r.Value)
		lastOfKey[string(r.Key)] = r.Offset
	}
	check(previous == compactedCount-1, "read up to offset %d", previous)
	for latest := int64(compactedCount - 10); latest < compactedCount; latest++ {
		key := fmt.Sprintf("compact-key-%d", latest%10)
		got, ok := lastOfKey[key]
		check(ok && got == latest, "the last record of %s read is at %d, not its latest %d", key, got, latest)
	}
	check(len(records) < compactedCount, "all %d records read: nothing was compacted", len(records))
	producer := client(e)
	produceCtx, produceCancel := context.WithTimeout(context.Background(), wait)
	err := producer.ProduceSync(produceCtx, &kgo.Record{Topic: e.topic, Partition: 0, Value: []byte("a record without a key on a compacted topic")}).FirstErr()
	produceCancel()
	producer.Close()
	check(err != nil, "a record without a key was accepted by the compacted topic")
	check(errors.Is(err, kerr.InvalidRecord), "the keyless produce failed, but not with INVALID_RECORD: %v", err)
	return fmt.Sprintf("read %d of %d records: the latest per key at its offset, tombstone nil; keyless record refused (%v)", len(records), compactedCount, err)
}
