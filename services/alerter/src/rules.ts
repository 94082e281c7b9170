import { type ClickHouseDriver, listAlertRuleChanges } from '@keytrail/clickhouse';
import type { Logger } from '@keytrail/core';
import { DEFAULT_RULES, type RuleBook, ruleBookWith } from '@keytrail/detection';

export interface RuleStore {
  rulesFor(workspaceId: string): RuleBook;
  refresh(): Promise<void>;
  start(): Promise<void>;
  stop(): void;
}

/**
 * Every workspace's rules in memory (detection asks for them per event), read from ClickHouse
 * at start and again every few seconds: a rule changed through the API is in force within
 * `refreshMs` in every alerter process.
 */
export function createRuleStore(options: {
  ch: ClickHouseDriver;
  logger: Logger;
  refreshMs?: number;
}): RuleStore {
  let books = new Map<string, RuleBook>();
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    const changes = await listAlertRuleChanges(options.ch);
    const byWorkspace = new Map<string, { kind: string; settings: string }[]>();
    for (const c of changes) {
      const list = byWorkspace.get(c.workspace_id) ?? [];
      list.push(c);
      byWorkspace.set(c.workspace_id, list);
    }
    books = new Map([...byWorkspace].map(([ws, list]) => [ws, ruleBookWith(list)]));
  };
  return {
    rulesFor: (workspaceId) => books.get(workspaceId) ?? DEFAULT_RULES,
    refresh,
    async start() {
      await refresh();
      const every = options.refreshMs ?? 5_000;
      timer = setInterval(() => {
        refresh().catch((err: unknown) =>
          options.logger.warn({ err }, 'alert rules not refreshed; keeping the last ones'),
        );
      }, every);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
  };
}
