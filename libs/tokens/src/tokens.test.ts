import { createHmac } from 'node:crypto';
import { CloseCode } from '@voiceroom/protocol';
import { createTokenService, DEFAULT_TOKEN_MAX_TTL_SECONDS } from './tokens';

const SECRET = 'tokens-unit-test-secret-0123456789abcdef';

/** A join token with exactly these claims (no `iat` unless given). */
function signed(claims: Record<string, unknown>): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const body = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ aud: 'voiceroom:join', sub: 'u1', room: 'r1', role: 'speaker', ...claims })}`;
  return `${body}.${createHmac('sha256', SECRET).update(body).digest('base64url')}`;
}

describe('join token lifetime', () => {
  const service = createTokenService(SECRET);
  const now = () => Math.floor(Date.now() / 1000);
  const over = (max: number) => ({ ok: false, closeCode: CloseCode.TokenInvalid, reason: `token lifetime over the maximum (${max} s)` });

  it('is at most 86 400 s by default: exp 1e308 is refused with 4401, with or without iat', () => {
    expect(DEFAULT_TOKEN_MAX_TTL_SECONDS).toBe(86_400);
    expect(service.verify(signed({ exp: 1e308, iat: now() }))).toEqual(over(86_400));
    expect(service.verify(signed({ exp: 1e308 }))).toEqual(over(86_400));
    expect(service.verify(signed({ exp: now() + 86_400, iat: now() }))).toMatchObject({ ok: true });
    expect(service.verify(signed({ exp: now() + 86_401, iat: now() }))).toEqual(over(86_400));
  });

  it('counts exp − iat, and exp − now (5 s clock tolerance) whatever iat says', () => {
    const t = now();
    expect(service.verify(signed({ exp: t + 601, iat: t }), 600)).toEqual(over(600));
    expect(service.verify(signed({ exp: t + 600, iat: t }), 600)).toMatchObject({ ok: true });
    expect(service.verify(signed({ exp: t + 600 }), 600)).toMatchObject({ ok: true });
    expect(service.verify(signed({ exp: t + 620 }), 600)).toEqual(over(600));
    expect(service.verify(signed({ exp: t + 900, iat: t + 400 }), 600)).toEqual(over(600)); // iat in the future
    expect(service.verify(signed({ exp: t + 60, iat: 'now' }), 600)).toMatchObject({ ok: false, closeCode: CloseCode.TokenInvalid });
    // What the service signs is within the limit it is given.
    expect(service.verify(service.sign({ userId: 'u1', room: 'r1', role: 'host' }, 600), 600)).toMatchObject({ ok: true });
  });
});
