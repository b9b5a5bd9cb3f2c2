import type { FastifyRequest } from 'fastify';
import { actorOf, CLI_USER_HEADER } from './actor.js';

const request = (actor: string | undefined, headers: Record<string, string> = {}): FastifyRequest =>
  ({ actor, headers }) as unknown as FastifyRequest;

describe('who recorded it (docs/design.md §9)', () => {
  it('is the key id whenever a key authenticated the request, whatever the headers say', () => {
    expect(actorOf(request('crm-sender', { [CLI_USER_HEADER]: 'mallory' }))).toBe('crm-sender');
  });

  it('without keys: the local user the ledger command names, else local', () => {
    expect(actorOf(request(undefined, { [CLI_USER_HEADER]: 'alice' }))).toBe('cli:alice');
    expect(actorOf(request(undefined))).toBe('local');
  });

  it('refuses a user name that could pass for something else, and falls back to local', () => {
    for (const name of ['', 'alice bob', 'a:b', 'x'.repeat(65), 'root\n', 'ал']) {
      expect(actorOf(request(undefined, { [CLI_USER_HEADER]: name }))).toBe('local');
    }
  });
});
