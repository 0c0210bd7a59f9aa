import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { REPO_ROOT } from './paths';

export const ROCKETMQ_ENDPOINTS = process.env.ROCKETMQ_ENDPOINTS ?? '127.0.0.1:8081';
/** The NameServer, where the voice lane finds the voice topic's brokers. */
export const ROCKETMQ_NAMESRV_ADDR = process.env.ROCKETMQ_NAMESRV_ADDR ?? '127.0.0.1:9876';
export const VOICE_TOPIC = 'voiceroom-voice';
export const EVENT_TOPIC = 'voiceroom-events';

function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Fails with a message that says how to get RocketMQ when its proxy does not answer. */
export async function requireRocketMQ(): Promise<void> {
  const [host = '127.0.0.1', port = '8081'] = (ROCKETMQ_ENDPOINTS.split(';')[0] ?? '').split(':');
  if (!(await portOpen(host, Number(port)))) {
    throw new Error(
      `RocketMQ proxy is not reachable at ${ROCKETMQ_ENDPOINTS}. Run the suite with \`npm test\` (it starts RocketMQ), ` +
        'or start it yourself with `bash rocketmq/rocketmq.sh up`.',
    );
  }
}

/** Runs rocketmq/rocketmq.sh with a command; rejects with its output when it fails. */
export function rocketmqScript(command: 'up' | 'down' | 'status'): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(REPO_ROOT, 'rocketmq', 'rocketmq.sh'), command], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`rocketmq.sh ${command} exited ${code}:\n${output}`))));
  });
}

/** The pid of a RocketMQ JVM started by rocketmq/rocketmq.sh (its pid file), or undefined. */
export function rocketmqPid(component: 'namesrv' | 'proxy'): number | undefined {
  const dir = process.env.ROCKETMQ_RUNTIME_DIR ?? join(REPO_ROOT, '.rocketmq');
  try {
    const pid = Number(
      readFileSync(join(dir, `${component}.pid`), 'utf8')
        .trim()
        .split('\n')[0],
    );
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
