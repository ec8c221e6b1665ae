// The secured harness scenarios (sasl-scram-tls, acl-denied): franz-go over the broker's SASL_SSL
// listener with SCRAM, as the user the harness names in COMPAT_SASL_USERNAME.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

const (
	secureCount      = 5
	aclReadableCount = 3
	aclDeniedValue   = "this write must be refused"
)

// secureEnv is the scenario's environment with the SASL_SSL listener as bootstrap, and the options
// (TLS with the harness's CA, SCRAM with its user) every client of the scenario needs.
func secureEnv(e env) (env, []kgo.Opt) {
	caPEM, err := os.ReadFile(os.Getenv("COMPAT_CA_FILE"))
	must(err, "read COMPAT_CA_FILE")
	pool := x509.NewCertPool()
	check(pool.AppendCertsFromPEM(caPEM), "no certificate in COMPAT_CA_FILE")
	auth := scram.Auth{User: os.Getenv("COMPAT_SASL_USERNAME"), Pass: os.Getenv("COMPAT_SASL_PASSWORD")}
	mechanism := auth.AsSha512Mechanism()
	if os.Getenv("COMPAT_SASL_MECHANISM") == "SCRAM-SHA-256" {
		mechanism = auth.AsSha256Mechanism()
	}
	secure := env{bootstrap: os.Getenv("COMPAT_SECURE_BOOTSTRAP"), topic: e.topic, group: e.group}
	check(secure.bootstrap != "", "COMPAT_SECURE_BOOTSTRAP is not set")
	return secure, []kgo.Opt{kgo.DialTLSConfig(&tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}), kgo.SASL(mechanism)}
}

func saslScramTLS(e env) string {
	secure, opts := secureEnv(e)
	records := make([]*kgo.Record, secureCount)
	for i := range records {
		records[i] = &kgo.Record{Partition: 0, Key: []byte(fmt.Sprintf("secure-key-%d", i)), Value: []byte(fmt.Sprintf("secure value %d over SASL_SSL with SCRAM", i))}
	}
	produce(secure, records, opts...)
	read := consume(secure, 0, 0, secureCount, opts...)
	for i, r := range read {
		checkBytes(fmt.Sprintf("key %d", i), records[i].Key, r.Key)
		checkBytes(fmt.Sprintf("value %d", i), records[i].Value, r.Value)
	}
	return fmt.Sprintf("%s over SASL_SSL: %d records", os.Getenv("COMPAT_SASL_MECHANISM"), secureCount)
}

func aclDenied(e env) string {
	secure, opts := secureEnv(e)
	cl := client(secure, append(opts, kgo.RecordDeliveryTimeout(15*time.Second))...)
	ctx, cancel := ctxWait()
	err := cl.ProduceSync(ctx, &kgo.Record{Topic: secure.topic, Partition: 0, Value: []byte(aclDeniedValue)}).FirstErr()
	cancel()
	cl.Close()
	check(err != nil, "the produce succeeded without WRITE on the topic")
	// franz-go is idempotent by default; without WRITE anywhere the broker may refuse its InitProducerId
	// (CLUSTER_AUTHORIZATION_FAILED) before the produce itself (TOPIC_AUTHORIZATION_FAILED).
	check(errors.Is(err, kerr.TopicAuthorizationFailed) || errors.Is(err, kerr.ClusterAuthorizationFailed),
		"the produce failed, but not with an authorization error: %v", err)
	read := consume(secure, 0, 0, aclReadableCount, opts...)
	for i, r := range read {
		checkBytes(fmt.Sprintf("key %d", i), []byte(fmt.Sprintf("readable-key-%d", i)), r.Key)
		checkBytes(fmt.Sprintf("value %d", i), []byte(fmt.Sprintf("readable value %d", i)), r.Value)
	}
	adminClient := client(secure, opts...)
	defer adminClient.Close()
	listCtx, listCancel := context.WithTimeout(context.Background(), wait)
	defer listCancel()
	topics, listErr := kadm.NewClient(adminClient).ListTopics(listCtx)
	must(listErr, "ListTopics")
	hidden := os.Getenv("COMPAT_HIDDEN_TOPIC")
	check(topics.Has(secure.topic), "ListTopics lacks the readable topic %s: %v", secure.topic, topics.Names())
	check(!topics.Has(hidden), "ListTopics lists %s, which the user may not describe", hidden)
	return fmt.Sprintf("produce refused with %v; read %d records; ListTopics: %d topic(s), not the hidden one", err, aclReadableCount, len(topics))
}
