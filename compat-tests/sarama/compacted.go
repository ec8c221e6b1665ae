// compacted-topic: the harness wrote 200 records over 10 keys (every 9th a tombstone) and waited for the
// log cleaner; reading from the beginning must give only records written at those offsets, each key's
// latest last, and a keyless record must be refused with INVALID_RECORD.
package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/IBM/sarama"
)

const compactedCount = 200

func compactedTopic(e env) string {
	consumer, err := sarama.NewConsumer([]string{e.bootstrap}, config())
	must(err, "NewConsumer")
	pc, err := consumer.ConsumePartition(e.topic, 0, sarama.OffsetOldest)
	must(err, "ConsumePartition")
	timeout := time.After(wait)
	var messages []*sarama.ConsumerMessage
	for len(messages) == 0 || messages[len(messages)-1].Offset < compactedCount-1 {
		select {
		case m := <-pc.Messages():
			messages = append(messages, m)
		case err := <-pc.Errors():
			must(err, "consume")
		case <-timeout:
			panic(fmt.Sprintf("did not reach offset %d within %s (read %d)", compactedCount-1, wait, len(messages)))
		}
	}
	pc.Close()
	consumer.Close()
	previous := int64(-1)
	lastOfKey := map[string]int64{}
	for _, m := range messages {
		check(m.Offset > previous, "offset %d after %d", m.Offset, previous)
		previous = m.Offset
		check(m.Offset < compactedCount, "offset %d was never written", m.Offset)
		checkBytes(fmt.Sprintf("key at offset %d", m.Offset), []byte(fmt.Sprintf("compact-key-%d", m.Offset%10)), m.Key)
		var value []byte
		if m.Offset%9 != 4 {
			value = []byte(fmt.Sprintf("compact value %d", m.Offset))
		}
		checkBytes(fmt.Sprintf("value at offset %d", m.Offset), value, m.Value)
		lastOfKey[string(m.Key)] = m.Offset
	}
	check(previous == compactedCount-1, "read up to offset %d", previous)
	for latest := int64(compactedCount - 10); latest < compactedCount; latest++ {
		key := fmt.Sprintf("compact-key-%d", latest%10)
		got, ok := lastOfKey[key]
		check(ok && got == latest, "the last record of %s read is at %d, not its latest %d", key, got, latest)
	}
	check(len(messages) < compactedCount, "all %d records read: nothing was compacted", len(messages))
	producer, err := sarama.NewSyncProducer([]string{e.bootstrap}, config())
	must(err, "NewSyncProducer")
	_, _, refused := producer.SendMessage(&sarama.ProducerMessage{Topic: e.topic, Partition: 0, Value: sarama.StringEncoder("a record without a key on a compacted topic")})
	producer.Close()
	check(refused != nil, "a record without a key was accepted by the compacted topic")
	check(errors.Is(refused, sarama.ErrInvalidRecord), "the keyless produce failed, but not with ErrInvalidRecord: %v", refused)
	return fmt.Sprintf("read %d of %d records: the latest per key at its offset, tombstone nil; keyless record refused (%v)", len(messages), compactedCount, refused)
}
