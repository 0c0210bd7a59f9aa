/**
 * Development helper: prints a join token signed with JWT_SECRET (or the development default).
 *   npm run token -- --user alice --room lobby [--role speaker] [--name Alice] [--ttl 3600]
 */
import { parseArgs } from 'node:util';
import { DEV_JWT_SECRET } from '@voiceroom/config';
import { isRole, isValidId } from '@voiceroom/protocol';
import { createTokenService } from '@voiceroom/tokens';

const { values } = parseArgs({
  options: {
    user: { type: 'string' },
    room: { type: 'string' },
    role: { type: 'string', default: 'speaker' },
    name: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  },
});
const ttl = Number(values.ttl);
const problems: string[] = [];
if (!isValidId(values.user)) problems.push('--user is required: 1-64 characters of [A-Za-z0-9_.:-]');
if (!isValidId(values.room)) problems.push('--room is required: 1-64 characters of [A-Za-z0-9_.:-]');
if (!isRole(values.role)) problems.push('--role must be host, speaker or listener');
if (!Number.isInteger(ttl) || ttl <= 0) problems.push('--ttl must be a positive number of seconds');
if (problems.length > 0 || !isRole(values.role) || values.user === undefined || values.room === undefined) {
  process.stderr.write(`${problems.join('\n')}\nusage: npm run token -- --user ID --room ID [--role speaker] [--name NAME] [--ttl SECONDS]\n`);
  process.exit(2);
}
const secret = process.env.JWT_SECRET || DEV_JWT_SECRET;
const claims = { userId: values.user, room: values.room, role: values.role, ...(values.name ? { name: values.name } : {}) };
process.stdout.write(`${createTokenService(secret).sign(claims, ttl)}\n`);
