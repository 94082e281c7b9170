import { describe, expect, it } from 'vitest';
import { newClusterId } from './broker.ts';

describe('newClusterId', () => {
  it('is a 22-character base64url id that never starts with "-" (StorageTool would take it for an option)', () => {
    for (let i = 0; i < 5_000; i++) {
      const id = newClusterId();
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
  });
});
