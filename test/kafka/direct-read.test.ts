// Direct reads on an accepted socket: bytes land in the buffers the caller hands out, in order, and
// the connection still ends and writes like any socket.
import net from 'node:net'
import { describe, expect, it } from 'vitest'
import { socketWithDirectReads } from '../../src/kafka/direct-read.ts'

describe('socketWithDirectReads', () => {
  it('reads an accepted connection into the buffers handed out, answers on it, and sees the client end', async () => {
    const sent = Buffer.alloc(300_000)
    for (let i = 0; i < sent.length; i++) sent[i] = (i * 7) & 0xff
    const received: Buffer[] = []
    const buffers: Buffer[] = []
    const closed = Promise.withResolvers<undefined>()
    const server = net.createServer({ pauseOnConnect: true }, (accepted) => {
      const socket = socketWithDirectReads(accepted, {
        buffer: () => {
          // Odd sizes, so reads end mid-way through the stream's bytes.
          const buffer = Buffer.alloc(1000 + (buffers.length % 5) * 7919)
          buffers.push(buffer)
          return buffer
        },
        callback: (bytes) => {
          received.push(Buffer.from(buffers.at(-1)!.subarray(0, bytes)))
          return true
        },
      })
      expect(socket).not.toBeNull()
      expect(accepted.destroyed).toBe(true)
      socket!.on('end', () => socket!.end('bye'))
      socket!.on('close', () => closed.resolve(undefined))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1')
      const answer: Buffer[] = []
      client.on('data', (chunk: Buffer) => answer.push(chunk))
      const clientClosed = new Promise((resolve) => client.on('close', resolve))
      client.end(sent)
      await closed.promise
      await clientClosed
      expect(Buffer.concat(received).equals(sent)).toBe(true)
      expect(received.length).toBeGreaterThan(1)
      expect(Buffer.concat(answer).toString()).toBe('bye')
    } finally {
      await new Promise((resolve) => server.close(resolve))
    }
  })

  it('gives null for a socket without a handle to take (the caller keeps its data events)', () => {
    const socket = new net.Socket()
    expect(socketWithDirectReads(socket, { buffer: () => Buffer.alloc(16), callback: () => true })).toBeNull()
    socket.destroy()
  })
})
