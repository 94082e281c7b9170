import { ID_PATTERN } from '@keytrail/core';
import { describe, expect, it } from 'vitest';
import { fullAuthDecision, fullKeyLifecycle } from './fixtures.ts';
import { validateAuthDecision, validateKeyLifecycle } from './validate.ts';

describe('ids', () => {
  it.each([
    ['a NUL', 'ws\u0000evil'],
    ['a line break', 'ws\nfake log line'],
    ['a DEL', 'ws\u007f'],
    ['a leading space', ' ws_1'],
    ['a trailing tab', 'ws_1\t'],
    ['257 characters', 'w'.repeat(257)],
  ])('refuses a workspace id with %s, in decisions and lifecycle events alike', (_what, id) => {
    expect(validateAuthDecision(fullAuthDecision({ workspace_id: id })).map((e) => e.path)).toContain(
      'workspace_id',
    );
    expect(validateKeyLifecycle(fullKeyLifecycle({ workspace_id: id })).map((e) => e.path)).toContain(
      'workspace_id',
    );
  });

  it.each(['ws_1', 'eu:alice@example.com', 'Zoë Müller', 'a b', 'w'.repeat(256)])('takes %j', (id) => {
    expect(validateAuthDecision(fullAuthDecision({ end_user_id: id }))).toEqual([]);
    expect(new RegExp(ID_PATTERN, 'u').test(id)).toBe(true);
  });

  it('takes an allowed request that ended in a server error (the status actually sent)', () => {
    expect(validateAuthDecision(fullAuthDecision({ outcome: 'ALLOWED', http_status: 500 }))).toEqual([]);
    expect(
      validateAuthDecision(fullAuthDecision({ outcome: 'INVALID_KEY', http_status: 200 })).map((e) => e.path),
    ).toEqual(['http_status']);
  });
});
