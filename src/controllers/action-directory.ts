// Looks actions up in GET /v2/actions, the only place that gives an action's checkpoint id and
// timestamp. Listing is the expensive call, so concurrent lookups share one listing (single
// flight) and a listing younger than maxAgeMs answers later lookups too.
import type { Action } from '../cedana/schemas.ts';
import type { CedanaClient } from '../cedana/client.ts';

export class ActionDirectory {
  private readonly cedana: CedanaClient;
  private readonly maxAgeMs: number;
  private readonly listings = new Map<string, { at: number; actions: Promise<Map<string, Action>> }>();

  constructor(cedana: CedanaClient, maxAgeMs = 1_000) {
    this.cedana = cedana;
    this.maxAgeMs = maxAgeMs;
  }

  /** The action, or undefined if a listing made after this call began does not have it. */
  async find(actionId: string, type: string): Promise<Action | undefined> {
    const byId = await this.listing(type, Date.now());
    return byId.get(actionId);
  }

  async all(type: string): Promise<Action[]> {
    return [...(await this.listing(type, Date.now())).values()];
  }

  private listing(type: string, notBefore: number): Promise<Map<string, Action>> {
    const current = this.listings.get(type);
    if (current && current.at >= notBefore - this.maxAgeMs) return current.actions;
    const actions = this.cedana.listActions({ type }).then((list) => new Map(list.map((a) => [a.action_id, a])));
    const entry = { at: Date.now(), actions };
    this.listings.set(type, entry);
    actions.catch(() => {
      if (this.listings.get(type) === entry) this.listings.delete(type);
    });
    return actions;
  }
}
