/**
 * How the servers (apps/gateway, apps/admin) end when they cannot start: one readable line on
 * stderr, and a non-zero exit code (docs/operations.md, "Exit codes").
 */

/** EX_CONFIG (sysexits.h): the configuration is refused; starting again unchanged fails again. */
export const EXIT_CONFIG = 78;
/** Any other failure to start (the port is taken, the address is not this machine's, ...). */
export const EXIT_START_FAILED = 1;

/** Writes `<app>: <line>` to stderr (synchronous for files and pipes) and exits with `code`. */
export function exitOnStartFailure(app: string, code: number, line: string): never {
  process.stderr.write(`${app}: ${line.replace(/\s*\n\s*/g, ' ')}\n`);
  process.exit(code);
}

/** The reason listen() failed, and what to do about it, in one line. */
export function describeListenError(error: unknown, host: string, port: number): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'EADDRINUSE':
      return `port ${port} on ${host} is in use (EADDRINUSE): stop the other process or set PORT`;
    case 'EACCES':
      return `port ${port} on ${host} needs privileges this process lacks (EACCES): set PORT to 1024 or above`;
    case 'EADDRNOTAVAIL':
      return `address ${host} is not one of this machine's (EADDRNOTAVAIL): set HOST (0.0.0.0 for every interface)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `HOST ${host} does not resolve (${code}): set HOST to an address or a known name`;
    default:
      return `could not listen on ${host}:${port}${code ? ` (${code})` : ''}: ${errorMessage(error)}`;
  }
}

/** An error's message without its stack, for a one-line report. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** listen() failed; the message is `describeListenError`'s line. */
export class ListenError extends Error {
  constructor(
    override readonly cause: unknown,
    host: string,
    port: number,
  ) {
    super(describeListenError(cause, host, port));
    this.name = 'ListenError';
  }
}
