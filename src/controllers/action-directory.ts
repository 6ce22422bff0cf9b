// Looks actions up in GET /v2/actions, the only place that gives an action's checkpoint id and
// timestamp. Listing is the expensive call, so concurrent lookups share one listing (single
// flight) and a listing younger than maxAgeMs answers later lookups too. The listing is not
// filtered by type on the server (the real service's types are not the reference's, and nothing
// may depend on a filter returning the right subset): kinds are told apart here (actionKind).
import { actionKind, type ActionKind } from '../cedana/actions.ts';
import type { Action } from '../cedana/schemas.ts';
import type { CedanaClient } from '../cedana/client.ts';

export class ActionDirectory {
  private readonly cedana: CedanaClient;
  private readonly maxAgeMs: number;
  private current: { at: number; actions: Promise<Map<string, Action>> } | undefined;

  constructor(cedana: CedanaClient, maxAgeMs = 1_000) {
    this.cedana = cedana;
    this.maxAgeMs = maxAgeMs;
  }

  /**
   * The action, or undefined if a listing made after this call began does not have it (unknown, not
   * new). A younger listing than maxAgeMs answers a hit; a miss in one made before the call is asked
   * again (the action may be younger than the listing: a checkpoint posted a moment after it).
   */
  async find(actionId: string): Promise<Action | undefined> {
    const asked = Date.now();
    const entry = this.entry(asked);
    const found = (await entry.actions).get(actionId);
    if (found !== undefined || entry.at >= asked) return found;
    // Shared with any lookup that listed since this one was asked.
    return (await this.entry(asked + this.maxAgeMs).actions).get(actionId);
  }

  /** Every listed action of these kinds. */
  async ofKind(...kinds: ActionKind[]): Promise<Action[]> {
    return [...(await this.listing(Date.now())).values()].filter((a) => kinds.includes(actionKind(a.type)));
  }

  private listing(notBefore: number): Promise<Map<string, Action>> {
    return this.entry(notBefore).actions;
  }

  /** The current listing if it was made at notBefore − maxAgeMs or later, else a new one. */
  private entry(notBefore: number): { at: number; actions: Promise<Map<string, Action>> } {
    const current = this.current;
    if (current && current.at >= notBefore - this.maxAgeMs) return current;
    const actions = this.cedana.listActions().then((list) => new Map(list.map((a) => [a.action_id, a])));
    const entry = { at: Date.now(), actions };
    this.current = entry;
    actions.catch(() => {
      if (this.current === entry) this.current = undefined;
    });
    return entry;
  }
}
