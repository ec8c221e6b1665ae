// The broker's TLS material (certificate chain, key, client CAs), read from PEM files, checked for
// changes and handed again to the servers that use it (tls.Server.setSecureContext), so a renewed
// certificate is served to new connections without dropping established ones.
import { X509Certificate } from 'node:crypto'
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs'
import tls from 'node:tls'
import { ZombiError } from '../errors.ts'
import type { Logger } from '../observability/logger.ts'

export type ClientAuth = 'none' | 'requested' | 'required'

export interface TlsFiles {
  certFile: string
  keyFile: string
  caFile: string | null
  clientAuth: ClientAuth
  /** How often the files are checked for changes. */
  reloadCheckMs: number
}

/** What node:tls needs for one secure context. */
export interface TlsMaterial {
  cert: Buffer
  key: Buffer
  ca?: Buffer
}

/** Only TLS 1.2 and later, as Kafka's default ssl.enabled.protocols. */
export const MIN_TLS_VERSION = 'TLSv1.2'

function readMaterial(files: TlsFiles): TlsMaterial {
  const read = (file: string, what: string): Buffer => {
    try {
      return readFileSync(file)
    } catch (error) {
      throw new ZombiError('CONFIG_INVALID', `cannot read the TLS ${what} ${file}: ${(error as Error).message}`)
    }
  }
  const material: TlsMaterial = { cert: read(files.certFile, 'certificate'), key: read(files.keyFile, 'key') }
  if (files.caFile !== null) material.ca = read(files.caFile, 'CA file')
  // Refused here rather than at the first handshake: a key that does not match its certificate, bad PEM.
  try {
    tls.createSecureContext({ ...material, minVersion: MIN_TLS_VERSION })
  } catch (error) {
    throw new ZombiError('CONFIG_INVALID', `the TLS certificate ${files.certFile}, key ${files.keyFile}${files.caFile === null ? '' : ` or CA file ${files.caFile}`} do not load: ${(error as Error).message}`)
  }
  return material
}

/** One set of TLS files, watched; servers subscribe to get the new material when it changes and loads. */
export class TlsCredentials {
  readonly files: TlsFiles
  #material: TlsMaterial
  readonly #logger: Logger
  readonly #listeners = new Set<(material: TlsMaterial) => void>()
  #watching = false
  /** Modification times last seen, so a touch that changes nothing still reloads but a stat of the same file does not. */
  #versions: string

  constructor(files: TlsFiles, logger: Logger) {
    this.files = files
    this.#logger = logger
    this.#material = readMaterial(files)
    this.#versions = this.#fileVersions()
  }

  get material(): TlsMaterial {
    return this.#material
  }

  /** Options for tls.createServer: the material, TLS 1.2+, and client certificates as ZOMBI_TLS_CLIENT_AUTH says. */
  serverOptions(): tls.TlsOptions {
    const { clientAuth } = this.files
    return {
      ...this.#material,
      minVersion: MIN_TLS_VERSION,
      requestCert: clientAuth !== 'none',
      // "requested" lets a client without a certificate in; one whose certificate fails is turned away by the server.
      rejectUnauthorized: clientAuth === 'required',
    }
  }

  /** Options for an HTTPS server (node:https): the material and TLS 1.2+; no client certificates. */
  httpsOptions(): tls.TlsOptions {
    return { ...this.#material, minVersion: MIN_TLS_VERSION }
  }

  /** Calls `apply` with the new material after each change that loads. */
  subscribe(apply: (material: TlsMaterial) => void): () => void {
    this.#listeners.add(apply)
    this.#watch()
    return () => {
      this.#listeners.delete(apply)
      if (this.#listeners.size === 0) this.close()
    }
  }

  /** Reads the files again now; returns whether new material was loaded (false: unchanged, or it did not load). */
  reload(): boolean {
    const versions = this.#fileVersions()
    if (versions === this.#versions) return false
    this.#versions = versions
    let material: TlsMaterial
    try {
      material = readMaterial(this.files)
    } catch (error) {
      // Often a renewal half-done (the certificate written, the key not yet); the next change tries again.
      this.#logger.warn({ err: (error as Error).message }, 'TLS files changed but do not load; still serving the previous certificate')
      return false
    }
    this.#material = material
    for (const apply of this.#listeners) apply(material)
    this.#logger.info({ certFile: this.files.certFile, subject: certificateSubject(material.cert) }, 'TLS certificate reloaded')
    return true
  }

  close(): void {
    if (!this.#watching) return
    this.#watching = false
    for (const file of this.#paths()) unwatchFile(file, this.#onChange)
  }

  #paths(): string[] {
    return [this.files.certFile, this.files.keyFile, ...(this.files.caFile === null ? [] : [this.files.caFile])]
  }

  #fileVersions(): string {
    return this.#paths().map((file) => {
      try {
        const stat = statSync(file)
        return `${stat.mtimeMs}:${stat.size}:${stat.ino}`
      } catch {
        return 'missing'
      }
    }).join('|')
  }

  readonly #onChange = (): void => {
    this.reload()
  }

  #watch(): void {
    if (this.#watching) return
    this.#watching = true
    // Polling survives a file replaced by rename (how certificate managers write), which fs.watch loses.
    for (const file of this.#paths()) watchFile(file, { interval: this.files.reloadCheckMs, persistent: false }, this.#onChange)
  }
}

function certificateSubject(pem: Buffer): string | null {
  try {
    return rfc2253(new X509Certificate(pem).subject)
  } catch {
    return null
  }
}

/**
 * Node prints a subject one RDN a line, the outermost first ("C=US\nO=Acme\nCN=alice"), with
 * multi-valued RDNs joined by " + "; RFC 2253 (Java's X500Principal.getName(), which Kafka's
 * default principal builder uses) lists them innermost first, separated by commas.
 */
export function rfc2253(subject: string): string {
  return subject.split('\n').filter((rdn) => rdn !== '').reverse().map((rdn) => rdn.replace(/ \+ /g, '+')).join(',')
}

/**
 * The principal of a TLS client: User:<subject> of its verified certificate, or null when it sent
 * none (and the listener lets such clients in) or one that does not verify.
 */
export function tlsPrincipal(socket: tls.TLSSocket): string | null {
  if (!socket.authorized) return null
  const certificate = socket.getPeerX509Certificate()
  return certificate === undefined ? null : `User:${rfc2253(certificate.subject)}`
}

/** Whether a client presented a certificate that did not verify (refused even with ZOMBI_TLS_CLIENT_AUTH=requested). */
export function presentedUnverifiedCertificate(socket: tls.TLSSocket): boolean {
  return !socket.authorized && socket.getPeerX509Certificate() !== undefined
}
