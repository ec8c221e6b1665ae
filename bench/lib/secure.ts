// The TLS + SCRAM pair of bench:compare: one certificate (made with openssl for the run) and one SCRAM-SHA-512
// user for both brokers, each given a SASL_SSL listener beside the PLAINTEXT one the bench creates topics through.
import { writeFileSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { makeCertificates } from '../../test/support/certificates.ts'
import { removeOnExit } from './cleanup.ts'
import { benchScramUser } from './kafka.ts'

export interface BenchSecurity {
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  /** The key and certificate in one PEM file, as Kafka's PEM keystore takes them. */
  readonly keystoreFile: string
  readonly usersFile: string
  readonly mechanism: 'SCRAM-SHA-512'
  readonly username: string
  readonly password: string
  /** librdkafka (kcat) settings of a client of the SASL_SSL listener. */
  readonly kcatArgs: readonly string[]
  cleanup(): void
}

export function makeBenchSecurity(): BenchSecurity {
  const certificates = makeCertificates()
  const kept = removeOnExit(certificates.dir)
  // The user Kafka's log dirs are formatted with (bench/lib/kafka.ts), so both brokers know the same one.
  const { username, password, mechanism } = benchScramUser
  const usersFile = path.join(certificates.dir, 'users.txt')
  writeFileSync(usersFile, `${username}:${password}\n`)
  const keystoreFile = path.join(certificates.dir, 'broker-keystore.pem')
  writeFileSync(keystoreFile, readFileSync(certificates.broker.key, 'utf8') + readFileSync(certificates.broker.cert, 'utf8'))
  return {
    caFile: certificates.caFile, certFile: certificates.broker.cert, keyFile: certificates.broker.key, keystoreFile, usersFile,
    mechanism, username, password,
    kcatArgs: ['-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certificates.caFile}`, '-X', `sasl.mechanism=${mechanism}`,
      '-X', `sasl.username=${username}`, '-X', `sasl.password=${password}`],
    cleanup() {
      certificates.cleanup()
      kept()
    },
  }
}

/** Zombi's settings for the pair: PLAINTEXT (topic creation) and SASL_SSL (the measured clients). */
export function zombiSecureSettings(security: BenchSecurity): Record<string, string> {
  return {
    ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0',
    ZOMBI_TLS_CERT_FILE: security.certFile,
    ZOMBI_TLS_KEY_FILE: security.keyFile,
    ZOMBI_SASL_MECHANISMS: security.mechanism,
    ZOMBI_SASL_USERS_FILE: security.usersFile,
    // Kafka as configured here has no authorizer; Zombi still asks its ACLs on every request, and allows
    // what no ACL names, which is the nearest equivalent.
    ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true',
  }
}
