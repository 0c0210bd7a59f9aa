import { MAX_NAME_LENGTH } from './control';
import { codePointLength, cutDisplayName, isDisplayNameLength, truncateCodePoints } from './names';

const EMOJI = '😀'; // one code point, two UTF-16 code units

describe('display names: 64 code points, never half a surrogate pair', () => {
  it('counts code points: a pair once, an unpaired surrogate once', () => {
    expect(codePointLength('')).toBe(0);
    expect(codePointLength('Alice')).toBe(5);
    expect(codePointLength(EMOJI.repeat(64))).toBe(64);
    expect(codePointLength('a\ud800b')).toBe(3); // lone high surrogate
    expect(codePointLength('\udc00\ud800')).toBe(2); // a low then a high: no pair
    expect(codePointLength(`x${EMOJI}`.slice(0, 2))).toBe(2); // ends in half a pair
  });

  it('keeps a name of 64 emoji whole and cuts the 65th', () => {
    expect(MAX_NAME_LENGTH).toBe(64);
    expect(cutDisplayName(EMOJI.repeat(64))).toBe(EMOJI.repeat(64));
    expect(cutDisplayName(EMOJI.repeat(65))).toBe(EMOJI.repeat(64));
    expect(isDisplayNameLength(EMOJI.repeat(64))).toBe(true);
    expect(isDisplayNameLength(EMOJI.repeat(65))).toBe(false);
  });

  it('cuts between code points, never inside a pair, whatever the mix', () => {
    const name = `${'a'.repeat(63)}${EMOJI}tail`;
    expect(cutDisplayName(name)).toBe(`${'a'.repeat(63)}${EMOJI}`);
    expect(truncateCodePoints(`ab${EMOJI}c`, 3)).toBe(`ab${EMOJI}`);
    expect(truncateCodePoints(`ab${EMOJI}c`, 2)).toBe('ab');
    expect(truncateCodePoints('a'.repeat(70), 64)).toBe('a'.repeat(64));
    expect(truncateCodePoints('abc', 64)).toBe('abc');
    for (let n = 0; n <= 70; n++) {
      const text = `${'é'.repeat(n % 3)}${EMOJI.repeat(n)}\ud800`;
      const cut = cutDisplayName(text);
      expect(codePointLength(cut)).toBe(Math.min(64, codePointLength(text)));
      expect(text.startsWith(cut)).toBe(true);
      const last = cut.charCodeAt(cut.length - 1);
      if (cut.length < text.length) expect(last >= 0xd800 && last <= 0xdbff).toBe(false);
    }
  });
});
