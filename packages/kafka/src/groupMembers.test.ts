import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { membersByGroup, readGroupMembers } from './groupMembers.ts';

const dir = mkdtempSync(join(tmpdir(), 'kt-group-members-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readGroupMembers', () => {
  it('reads group → member ids as written', () => {
    const file = join(dir, 'members.json');
    writeFileSync(file, JSON.stringify({ 'keytrail.projector': ['keytrail-a', 'keytrail-b'] }));
    expect(readGroupMembers(file)).toEqual({ 'keytrail.projector': ['keytrail-a', 'keytrail-b'] });
  });

  it('takes a missing, truncated or foreign file as no members, never throws', () => {
    expect(readGroupMembers(join(dir, 'absent.json'))).toEqual({});
    const file = join(dir, 'bad.json');
    for (const text of ['{"keytrail.projector": ["keytr', '[1,2]', 'null', '"text"', '']) {
      writeFileSync(file, text);
      expect(readGroupMembers(file), text).toEqual({});
    }
  });

  it('keeps only non-empty string ids, and drops groups left with none', () => {
    const file = join(dir, 'mixed.json');
    writeFileSync(file, JSON.stringify({ a: ['m1', 2, '', null], b: 'm2', c: [], d: [{}] }));
    expect(readGroupMembers(file)).toEqual({ a: ['m1'] });
  });
});

describe('membersByGroup', () => {
  it('lists each live consumer once under its group', () => {
    expect(
      membersByGroup([
        { groupId: 'g1', memberId: 'm1' },
        { groupId: 'g2', memberId: 'm2' },
        { groupId: 'g1', memberId: 'm3' },
      ]),
    ).toEqual({ g1: ['m1', 'm3'], g2: ['m2'] });
    expect(membersByGroup([])).toEqual({});
  });
});
