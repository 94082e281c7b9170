/** Every `keytrail <command>`; docker-compose and the docs are checked against this list. */
export const COMMANDS = [
  'up',
  'ingest',
  'projector',
  'alerter',
  'api',
  'replay',
  'migrate',
  'simulate',
  'help',
] as const;
export type Command = (typeof COMMANDS)[number];
