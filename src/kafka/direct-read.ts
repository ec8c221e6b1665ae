// Reading an accepted TCP socket straight into buffers the connection chooses, so a large request
// lands in its own buffer with no intermediate socket chunk and no copy. Node offers this (`onread`
// with a buffer function) for sockets it creates; an accepted one gets it by wrapping the accepted
// socket's handle in a new Socket before anything was read from it (the server listens with
// `pauseOnConnect`). Where the handle is not there to take (a TLS socket, another runtime), the
// caller keeps the accepted socket and its 'data' events.
import net from 'node:net'

export interface DirectReads {
  /** The buffer the next read fills (from its start). Called after every read, and once at the start. */
  buffer: () => Buffer
  /** `bytes` were read into the buffer last returned; false pauses the socket. */
  callback: (bytes: number) => boolean
}

interface WithHandle {
  _handle?: object | null
}

/**
 * A socket over `accepted`'s connection whose reads go into `reads.buffer()`, or null when the
 * handle cannot be taken. The accepted socket is closed without closing the connection (its handle
 * now belongs to the returned socket); it must not have been read from.
 */
export function socketWithDirectReads(accepted: net.Socket, reads: DirectReads): net.Socket | null {
  const holder = accepted as unknown as WithHandle
  const handle = holder._handle
  if (handle === undefined || handle === null) return null
  // `handle` is what Node itself passes when it wraps an accepted or inherited handle in a Socket.
  const options = { handle, readable: true, writable: true, onread: { buffer: reads.buffer, callback: (bytes: number) => reads.callback(bytes) } }
  let socket: net.Socket
  try {
    socket = new net.Socket(options as net.SocketConstructorOpts)
  } catch {
    // A runtime whose Socket takes no such handle: the accepted socket serves with 'data' events.
    return null
  }
  holder._handle = null
  accepted.destroy()
  // Flowing, so the end of the stream is seen (onread data never reaches the readable side).
  socket.resume()
  return socket
}
