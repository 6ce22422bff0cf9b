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

  /** The action, or undefined if a listing made after this call began does not have it (unknown, not new). */
  async find(actionId: string): Promise<Action | undefined> {
    return (await this.listing(Date.now())).get(actionId);
  }

  /** Every listed action of these kinds. */
  async ofKind(...kinds: ActionKind[]): Promise<Action[]> {
    return [...(await this.listing(Date.now())).values()].filter((a) => kinds.includes(actionKind(a.type)));
  }

  private listing(notBefore: number): Promise<Map<string, Action>> {
    const current = this.current;
    if (current && current.at >= notBefore - this.maxAgeMs) return current.actions;
    const actions = this.cedana.listActions().then((list) => new Map(list.map((a) => [a.action_id, a])));
    const entry = { at: Date.now(), actions };
    this.current = entry;
    actions.catch(() => {
      if (this.current === entry) this.current = undefined;
    });
    return actions;
  }
}
