import type { AuthDecision, KeyLifecycle } from './types.ts';

/**
 * Partition key of an auth decision (DESIGN.md "Topics"): one key's decisions stay in order.
 * Every producer must use this one function: a retry with the same event_id must land on the
 * partition of its first copy, or the projector's retry window cannot see it.
 */
export function authDecisionKey(e: AuthDecision): string {
  // event_id last, so even a decision with nothing else to go by keeps one partition per event.
  return e.key_id ?? e.presented_key_hash ?? e.client_ip ?? e.event_id;
}

/**
 * Partition key of a lifecycle event: the key, or the session for SESSION_* events (a session's
 * state is its own, whatever key_id holds; validation requires session_id on them).
 */
export function keyLifecycleKey(e: KeyLifecycle): string {
  return e.lifecycle_type.startsWith('SESSION_') && e.session_id ? e.session_id : e.key_id;
}
