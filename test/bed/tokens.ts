import { randomBytes } from 'node:crypto';
import type { BedClock } from './clock.ts';

/** Who a bearer token stands for. */
export interface Principal {
  /** e.g. `serviceAccount:vm@p.iam.gserviceaccount.com` or `principal://iam.googleapis.com/...` */
  readonly subject: string;
  /** Service account email, when the token is a service account's access token. */
  readonly email?: string;
  readonly scopes: readonly string[];
  readonly kind: 'federated' | 'service-account';
}

interface Issued extends Principal {
  readonly expiresAt: number;
}

/** Issues and checks the opaque OAuth access tokens of the Google stand-ins, with lifetimes in virtual time. */
export class TokenRegistry {
  private readonly tokens = new Map<string, Issued>();
  private readonly clock: BedClock;
  /** Lifetime of new tokens, virtual seconds (Google's default is one hour). */
  lifetimeSeconds = 3600;

  constructor(clock: BedClock) {
    this.clock = clock;
  }

  issue(principal: Principal, lifetimeSeconds = this.lifetimeSeconds): { token: string; expiresAt: number } {
    const token = `ya29.bed-${randomBytes(18).toString('base64url')}`;
    const expiresAt = this.clock.now() + lifetimeSeconds * 1000;
    this.tokens.set(token, { ...principal, expiresAt });
    return { token, expiresAt };
  }

  /** The principal behind an `Authorization` header, or undefined when it is missing, unknown or expired. */
  check(authorization: string | string[] | undefined): Principal | undefined {
    const header = Array.isArray(authorization) ? authorization[0] : authorization;
    const m = /^Bearer\s+(\S+)$/i.exec(header ?? '');
    if (!m) return undefined;
    const issued = this.tokens.get(m[1]);
    if (!issued || issued.expiresAt <= this.clock.now()) return undefined;
    return issued;
  }

  /** Makes every token issued so far expire now. */
  expireAll(): void {
    for (const [token, issued] of this.tokens) this.tokens.set(token, { ...issued, expiresAt: 0 });
  }
}
