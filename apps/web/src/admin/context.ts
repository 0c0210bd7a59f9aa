import type { AdminApi } from './api';

/** What a view gets from the console: the API with the signed-in key, and the message lines. */
export interface ConsoleContext {
  api: AdminApi;
  /** Runs an action: clears the message lines, then shows `done` (or the failure in words, as `doing`). */
  act(doing: string, action: () => Promise<string | undefined>): Promise<void>;
  /** Shows a failure in words (`doing`: what was attempted). */
  fail(error: unknown, doing: string): void;
}

/** One screen of the console. `refresh` reloads its data; `live` views are also refreshed every few seconds. */
export interface View {
  readonly element: HTMLElement;
  readonly live: boolean;
  refresh(): Promise<void>;
}

/** `stored` when a change answered 202: in the database, applied by the cluster a little later. */
export const appliedLater = ' It is stored; the cluster applies it in a few seconds (the event log did not take it in time).';

/**
 * Orders the loads of one view: a load that another started after it has overtaken is dropped, so
 * a periodic refresh that was in flight during an action never shows the state from before it.
 */
export class Latest {
  private started = 0;

  /** Call before loading; the function says, once the data is in, whether it is still the latest. */
  begin(): () => boolean {
    const mine = ++this.started;
    return () => mine === this.started;
  }
}
