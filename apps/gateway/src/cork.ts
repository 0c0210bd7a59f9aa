import type { Session } from './session';

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
let pending: Session[] = [];
let scheduled = false;

export function corkForThisTick(session: Session): void {
  session.corked = true;
  session.raw.cork();
  pending.push(session);
  if (!scheduled) {
    scheduled = true;
    process.nextTick(uncorkAll);
  }
}

function uncorkAll(): void {
  const sessions = pending;
  pending = [];
  scheduled = false;
  for (let i = 0; i < sessions.length; i++) {
    const session = sessions[i] as Session;
    session.corked = false;
    session.raw.uncork();
  }
}
