// The secured harness scenarios (sasl-scram-tls, acl-denied): sarama over the broker's SASL_SSL
// listener with SCRAM, as the user the harness names in COMPAT_SASL_USERNAME. sarama speaks SASL's
// framing but leaves the SCRAM exchange to the application (Config.Net.SASL.SCRAMClientGeneratorFunc),
// so scramClient below is that part, RFC 5802 from the standard library.
package main

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"os"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

const (
	secureCount      = 5
	aclReadableCount = 3
	aclDeniedValue   = "this write must be refused"
)

// secured, when set, adds the SASL_SSL settings to every config() of the run.
var secured func(*sarama.Config)

type scramClient struct {
	newHash         func() hash.Hash
	user, password  string
	nonce           string
	clientFirstBare string
	serverSignature []byte
	step            int
	done            bool
}

func (c *scramClient) Begin(user, password, _ string) error {
	random := make([]byte, 18)
	if _, err := rand.Read(random); err != nil {
		return err
	}
	c.user, c.password, c.nonce = user, password, base64.RawStdEncoding.EncodeToString(random)
	name := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(user)
	c.clientFirstBare = "n=" + name + ",r=" + c.nonce
	return nil
}

func (c *scramClient) mac(key []byte, message string) []byte {
	m := hmac.New(c.newHash, key)
	m.Write([]byte(message))
	return m.Sum(nil)
}

func attributes(message string) map[string]string {
	values := map[string]string{}
	for _, part := range strings.Split(message, ",") {
		if len(part) >= 2 && part[1] == '=' {
			values[part[:1]] = part[2:]
		}
	}
	return values
}

func (c *scramClient) Step(challenge string) (string, error) {
	c.step++
	switch c.step {
	case 1:
		return "n,," + c.clientFirstBare, nil
	case 2:
		server := attributes(challenge)
		if !strings.HasPrefix(server["r"], c.nonce) {
			return "", errors.New("server nonce does not extend the client's")
		}
		salt, err := base64.StdEncoding.DecodeString(server["s"])
		if err != nil {
			return "", fmt.Errorf("salt: %w", err)
		}
		iterations, err := strconv.Atoi(server["i"])
		if err != nil {
			return "", fmt.Errorf("iterations: %w", err)
		}
		salted, err := pbkdf2.Key(c.newHash, c.password, salt, iterations, c.newHash().Size())
		if err != nil {
			return "", err
		}
		clientKey := c.mac(salted, "Client Key")
		storedKey := c.newHash()
		storedKey.Write(clientKey)
		withoutProof := "c=biws,r=" + server["r"]
		authMessage := c.clientFirstBare + "," + challenge + "," + withoutProof
		signature := c.mac(storedKey.Sum(nil), authMessage)
		proof := make([]byte, len(clientKey))
		for i := range clientKey {
			proof[i] = clientKey[i] ^ signature[i]
		}
		c.serverSignature = c.mac(c.mac(salted, "Server Key"), authMessage)
		return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
	default:
		c.done = true
		final := attributes(challenge)
		if final["e"] != "" {
			return "", errors.New("server error: " + final["e"])
		}
		verifier, err := base64.StdEncoding.DecodeString(final["v"])
		if err != nil || !hmac.Equal(verifier, c.serverSignature) {
			return "", errors.New("the server's signature does not verify")
		}
		return "", nil
	}
}

func (c *scramClient) Done() bool { return c.done }

// secureEnv switches the run to the SASL_SSL listener and the harness's user.
func secureEnv(e env) env {
	caPEM, err := os.ReadFile(os.Getenv("COMPAT_CA_FILE"))
	must(err, "read COMPAT_CA_FILE")
	pool := x509.NewCertPool()
	check(pool.AppendCertsFromPEM(caPEM), "no certificate in COMPAT_CA_FILE")
	mechanism, newHash := sarama.SASLMechanism(sarama.SASLTypeSCRAMSHA512), sha512.New
	if os.Getenv("COMPAT_SASL_MECHANISM") == "SCRAM-SHA-256" {
		mechanism, newHash = sarama.SASLTypeSCRAMSHA256, sha256.New
	}
	secured = func(cfg *sarama.Config) {
		cfg.Net.TLS.Enable = true
		cfg.Net.TLS.Config = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		cfg.Net.SASL.Enable = true
		cfg.Net.SASL.Mechanism = mechanism
		cfg.Net.SASL.User = os.Getenv("COMPAT_SASL_USERNAME")
		cfg.Net.SASL.Password = os.Getenv("COMPAT_SASL_PASSWORD")
		cfg.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{newHash: newHash} }
	}
	secure := env{bootstrap: os.Getenv("COMPAT_SECURE_BOOTSTRAP"), topic: e.topic, group: e.group}
	check(secure.bootstrap != "", "COMPAT_SECURE_BOOTSTRAP is not set")
	return secure
}

func saslScramTLS(e env) string {
	secure := secureEnv(e)
	messages := make([]*sarama.ProducerMessage, secureCount)
	for i := range messages {
		messages[i] = &sarama.ProducerMessage{Partition: 0, Key: sarama.ByteEncoder(fmt.Sprintf("secure-key-%d", i)), Value: sarama.ByteEncoder(fmt.Sprintf("secure value %d over SASL_SSL with SCRAM", i))}
	}
	produce(secure, messages, nil)
	read := consume(secure, 0, sarama.OffsetOldest, secureCount)
	for i, m := range read {
		checkBytes(fmt.Sprintf("key %d", i), encoded(messages[i].Key), m.Key)
		checkBytes(fmt.Sprintf("value %d", i), encoded(messages[i].Value), m.Value)
	}
	return fmt.Sprintf("%s over SASL_SSL (SCRAM client of the driver, sarama has none): %d records", os.Getenv("COMPAT_SASL_MECHANISM"), secureCount)
}

func aclDenied(e env) string {
	secure := secureEnv(e)
	producer, err := sarama.NewSyncProducer([]string{secure.bootstrap}, config())
	must(err, "NewSyncProducer")
	_, _, refused := producer.SendMessage(&sarama.ProducerMessage{Topic: secure.topic, Partition: 0, Value: sarama.StringEncoder(aclDeniedValue)})
	producer.Close()
	check(refused != nil, "the produce succeeded without WRITE on the topic")
	check(errors.Is(refused, sarama.ErrTopicAuthorizationFailed), "the produce failed, but not with ErrTopicAuthorizationFailed: %v", refused)
	read := consume(secure, 0, sarama.OffsetOldest, aclReadableCount)
	for i, m := range read {
		checkBytes(fmt.Sprintf("key %d", i), []byte(fmt.Sprintf("readable-key-%d", i)), m.Key)
		checkBytes(fmt.Sprintf("value %d", i), []byte(fmt.Sprintf("readable value %d", i)), m.Value)
	}
	adm := admin(secure)
	defer adm.Close()
	topics, err := adm.ListTopics()
	must(err, "ListTopics")
	hidden := os.Getenv("COMPAT_HIDDEN_TOPIC")
	_, readable := topics[secure.topic]
	_, listed := topics[hidden]
	check(readable, "ListTopics lacks the readable topic %s", secure.topic)
	check(!listed, "ListTopics lists %s, which the user may not describe", hidden)
	return fmt.Sprintf("produce refused with %v; read %d records; ListTopics: %d topic(s), not the hidden one", refused, aclReadableCount, len(topics))
}
