// A loopback port that is free now: for a broker that must keep its port across restarts (its clients
// reconnect to it), or a server that takes no port 0.
import { createServer } from 'node:net'

export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve))
  const address = server.address()
  await new Promise((resolve) => server.close(resolve))
  if (address === null || typeof address === 'string') throw new Error('no port from listen(0)')
  return address.port
}
