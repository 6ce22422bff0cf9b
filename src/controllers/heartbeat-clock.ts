// When a pod's next heartbeat is due. Each pod gets a stable offset in the interval (a hash of its
// uid) so heartbeats spread out instead of firing together, and checkpoints are named by interval
// slot, so neither a restart nor a second replica takes one twice. A pod seen for the first time
// (new, or after a restart) gets its first heartbeat at its next slot.
import type { Pod } from '../api/pod.ts';
import { derivedName, shortUid } from './owned-objects.ts';

export class HeartbeatClock {
  private readonly slots = new Map<string, number>();

  /** Whether a heartbeat is due now, its checkpoint name, and how long until the next slot. */
  check(pod: Pod, intervalMs: number, now = Date.now()): { due: boolean; name: string; nextInMs: number } {
    const uid = pod.metadata.uid ?? '';
    const offset = Number.parseInt(shortUid(uid).slice(0, 8), 16) % intervalMs;
    const slot = Math.floor((now - offset) / intervalMs);
    const last = this.slots.get(uid);
    this.slots.set(uid, slot);
    return {
      due: last !== undefined && slot > last,
      name: derivedName(pod.metadata.name, `hb-${shortUid(uid).slice(0, 6)}-${slot.toString(36)}`),
      nextInMs: Math.max(100, (slot + 1) * intervalMs + offset - now + 10),
    };
  }

  forget(uid: string): void {
    this.slots.delete(uid);
  }

  /** Forgets every pod but these (the pods a policy still protects). */
  retainOnly(uids: ReadonlySet<string>): void {
    for (const uid of this.slots.keys()) if (!uids.has(uid)) this.slots.delete(uid);
  }
}
