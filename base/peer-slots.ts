// Connection slots per peer address, with a reserve only the operator may use: one address holds
// at most maxPerAddress connections, everyone together at most maxConnections, and strangers (not
// operator addresses) at most maxConnections - operatorReserve, so a crowd of strangers never
// locks the operator out. The 9P server's admission (fs/server/admission.ts) follows the same
// rules and adds eviction of unfinished handshakes; the HTTP modules use this table as it is.

export interface SlotLimits {
  /** Connections in all (>= 1). */
  maxConnections: number;
  /** Connections from one address (>= 1), the operator's included. */
  maxPerAddress: number;
  /** Slots of maxConnections only operator addresses may use (0..maxConnections). */
  operatorReserve: number;
}

export type SlotRefusal = { reason: 'per-address' | 'full'; text: string };

/** A taken slot; release() is idempotent. */
export interface Slot { readonly address: string; readonly operator: boolean; release(): void }

export class PeerSlots {
  private readonly perAddress = new Map<string, number>();
  private total = 0;
  private strangers = 0;

  constructor(private limits: SlotLimits, private readonly isOperator: (address: string) => boolean) {
    checkLimits(limits);
  }

  /** New limits apply to newcomers; connections already held keep their slots. */
  setLimits(limits: SlotLimits): void {
    checkLimits(limits);
    this.limits = limits;
  }

  get connections(): number { return this.total; }

  /** Connections held by `address` now. */
  held(address: string): number { return this.perAddress.get(address) ?? 0; }

  /** Takes a slot for `address` (normalised) or says why not. */
  take(address: string): Slot | SlotRefusal {
    const { maxConnections, maxPerAddress, operatorReserve } = this.limits;
    const operator = this.isOperator(address);
    if (this.held(address) >= maxPerAddress) {
      return { reason: 'per-address', text: `too many connections from ${address} (limit ${maxPerAddress})` };
    }
    if (this.total >= maxConnections || (!operator && this.strangers >= maxConnections - operatorReserve)) {
      return { reason: 'full', text: `too many connections (limit ${maxConnections}${operator ? '' : `, ${operatorReserve} reserved for the operator`})` };
    }
    this.total++;
    if (!operator) this.strangers++;
    this.perAddress.set(address, this.held(address) + 1);
    let held = true;
    return {
      address, operator,
      release: () => {
        if (!held) return;
        held = false;
        this.total--;
        if (!operator) this.strangers--;
        const n = this.held(address) - 1;
        if (n > 0) this.perAddress.set(address, n);
        else this.perAddress.delete(address);
      },
    };
  }
}

export const isRefusal = (s: Slot | SlotRefusal): s is SlotRefusal => 'reason' in s;

function checkLimits(l: SlotLimits): void {
  for (const [k, v] of Object.entries({ maxConnections: l.maxConnections, maxPerAddress: l.maxPerAddress })) {
    if (!Number.isInteger(v) || v < 1) throw new TypeError(`${k} must be a positive integer, got ${v}`);
  }
  if (!Number.isInteger(l.operatorReserve) || l.operatorReserve < 0 || l.operatorReserve > l.maxConnections) {
    throw new TypeError(`operatorReserve must be an integer in 0..maxConnections (${l.maxConnections}), got ${l.operatorReserve}`);
  }
}
