import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDatabaseUrl, createDataSource } from './data-source';
import { DatabaseUrlError } from './errors';

// TLS to MySQL/MariaDB through DATABASE_URL: ?ssl=true or ?ssl-ca=PATH reach mysql2 as its `ssl` option.
describe('DATABASE_URL TLS options', () => {
  it('passes ?ssl=true to the driver with the certificate checked', () => {
    const options = createDataSource({ url: 'mysql://app:pw@db:3306/voiceroom?ssl=true' }).options as { ssl?: unknown; database?: string; host?: string };
    expect(options.ssl).toEqual({ rejectUnauthorized: true });
    expect(options).toMatchObject({ host: 'db', database: 'voiceroom' });
    expect((createDataSource({ url: 'mariadb://app:pw@db/voiceroom?ssl=false' }).options as { ssl?: unknown }).ssl).toBeUndefined();
    expect((createDataSource({ url: 'mysql://app:pw@db/voiceroom' }).options as { ssl?: unknown }).ssl).toBeUndefined();
  });

  it('reads ?ssl-ca=PATH and turns TLS on', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vr-ca-'));
    const ca = join(dir, 'ca.pem');
    writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const options = createDataSource({ url: `mysql://app:pw@db/voiceroom?ssl-ca=${encodeURIComponent(ca)}` }).options as { ssl?: { ca?: string } };
    expect(options.ssl).toEqual({ ca: expect.stringContaining('BEGIN CERTIFICATE'), rejectUnauthorized: true });
  });

  it('refuses an unreadable CA file and unknown parameters, never printing the password', () => {
    for (const url of ['mysql://app:hunter2@db/v?ssl-ca=/nonexistent/ca.pem', 'mysql://app:hunter2@db/v?sslmode=require', 'mysql://app:hunter2@db/v?ssl=yes']) {
      let error: unknown;
      try {
        checkDatabaseUrl(url);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DatabaseUrlError);
      expect((error as Error).message).not.toContain('hunter2');
      expect((error as Error).message).toMatch(/ssl/);
    }
  });
});
