/**
 * Display names: one rule for the whole system (docs/protocol.md §3.1, docs/admin-api.md §4.3).
 *
 * A display name is at most MAX_NAME_LENGTH (64) Unicode code points. The admin API refuses a
 * longer one; the gateway cuts a longer one from a join token to its first 64 code points. A
 * code point is never split: a surrogate pair (an emoji such as 😀) counts as one and is kept or
 * dropped whole; an unpaired surrogate counts as one. (A sequence of several code points shown as
 * one symbol, such as a flag or a family emoji, may be cut between its code points.) JSON
 * Schema's `maxLength`, which the admin API's schemas use, counts the same way.
 */
import { MAX_NAME_LENGTH } from './control';

/** Unicode code points in `text`: a surrogate pair counts once, an unpaired surrogate once. */
export function codePointLength(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++, count++) {
    if (isPairAt(text, i)) i++;
  }
  return count;
}

/** The first `max` code points of `text` (all of it when it has no more); never half a pair. */
export function truncateCodePoints(text: string, max: number): string {
  if (text.length <= max) return text; // no more code units than max: no more code points either
  let end = 0;
  for (let count = 0; end < text.length && count < max; count++) end += isPairAt(text, end) ? 2 : 1;
  return text.slice(0, end);
}

/** Whether `name` is within the display-name limit (what the admin API accepts). */
export function isDisplayNameLength(name: string): boolean {
  return name.length <= MAX_NAME_LENGTH || codePointLength(name) <= MAX_NAME_LENGTH;
}

/** A display name as the gateway keeps it from a join token: its first 64 code points. */
export function cutDisplayName(name: string): string {
  return truncateCodePoints(name, MAX_NAME_LENGTH);
}

function isPairAt(text: string, i: number): boolean {
  const high = text.charCodeAt(i);
  if (high < 0xd800 || high > 0xdbff || i + 1 >= text.length) return false;
  const low = text.charCodeAt(i + 1);
  return low >= 0xdc00 && low <= 0xdfff;
}
