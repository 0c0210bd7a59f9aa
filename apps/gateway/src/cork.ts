/**
 * What cork.ts needs of a connection: its net.Socket, and a flag it owns. The connection must
 * check `corked` before calling `corkForThisTick` (once per turn) and must not write the flag.
 */
export interface Corkable {
  corked: boolean;
  readonly raw: { cork(): void; uncork(): void };
}

/**
 * Coalesces the voice writes one socket receives within one event-loop turn into one syscall:
 * the first write corks the socket, and all corked sockets are uncorked together on the next
 * tick (a bus batch carrying several frames for a room then costs one writev per member).
 *
 * Pre-framed bytes are written straight to the net.Socket under ws. That is safe because
 * permessage-deflate is off (ws then writes every message synchronously, so its own text
 * frames and ours cannot interleave mid-frame) and because deliverVoice checks readyState
 * (nothing is written after ws has sent a close frame).
 */
let pending: Corkable[] = [];
let scheduled = false;

export function corkForThisTick(connection: Corkable): void {
  connection.corked = true;
  connection.raw.cork();
  pending.push(connection);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(uncorkAll);
  }
}

function uncorkAll(): void {
  const connections = pending;
  pending = [];
  scheduled = false;
  for (let i = 0; i < connections.length; i++) {
    const connection = connections[i] as Corkable;
    connection.corked = false;
    connection.raw.uncork();
  }
}
