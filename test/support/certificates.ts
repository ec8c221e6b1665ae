// Certificates made for a test with openssl: a CA, a broker certificate for 127.0.0.1/localhost signed
// by it, and client certificates (signed by it, or by a second CA the broker does not trust).
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface KeyPair {
  cert: string
  key: string
}

export interface TestCertificates {
  dir: string
  /** The CA that signs the broker's and trusted clients' certificates (PEM file path). */
  caFile: string
  broker: KeyPair
  /** Signs a new certificate with the test CA (or with an untrusted one) for `subject`, e.g. /CN=alice/O=Acme. */
  issue(name: string, subject: string, options?: { untrusted?: boolean; serverNames?: string }): KeyPair
  cleanup(): void
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

function makeCa(dir: string, name: string): KeyPair {
  const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) }
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-keyout', pair.key, '-out', pair.cert], dir)
  return pair
}

export function makeCertificates(): TestCertificates {
  const dir = mkdtempSync(join(tmpdir(), 'zombi-certs-'))
  const ca = makeCa(dir, 'zombi-test-ca')
  let untrustedCa: KeyPair | null = null
  let serial = 1
  const issue = (name: string, subject: string, options: { untrusted?: boolean; serverNames?: string } = {}): KeyPair => {
    const signer = options.untrusted === true ? (untrustedCa ??= makeCa(dir, 'untrusted-ca')) : ca
    const pair = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) }
    const csr = join(dir, `${name}.csr`)
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', subject, '-keyout', pair.key, '-out', csr], dir)
    const extensions = join(dir, `${name}.ext`)
    writeFileSync(extensions, options.serverNames === undefined
      ? 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth,serverAuth\n'
      : `basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=${options.serverNames}\n`)
    openssl(['x509', '-req', '-in', csr, '-CA', signer.cert, '-CAkey', signer.key, '-set_serial', String(serial++), '-days', '2', '-sha256', '-extfile', extensions, '-out', pair.cert], dir)
    return pair
  }
  const broker = issue('broker', '/CN=zombi-broker', { serverNames: 'IP:127.0.0.1,DNS:localhost' })
  return { dir, caFile: ca.cert, broker, issue, cleanup: () => rmSync(dir, { recursive: true, force: true }) }
}
