import { randomBytes } from 'node:crypto';
import type { AccessBoundary } from './access-boundary.ts';
import type { BedClock } from './clock.ts';

/** Who a bearer token stands for. */
export interface Principal {
  /** e.g. `serviceAccount:vm@p.iam.gserviceaccount.com` or `principal://iam.googleapis.com/...` */
  readonly subject: string;
  /** Service account email, when the token is a service account's access token. */
  readonly email?: string;
  readonly scopes: readonly string[];
  readonly kind: 'federated' | 'service-account' | 'user';
  /**
   * The Credential Access Boundary of a downscoped token: the same principal, narrowed to these Cloud Storage
   * rules (see `boundaryAllows`); absent on an ordinary token. Only Cloud Storage accepts such a token.
   */
  readonly accessBoundary?: AccessBoundary;
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
    return this.issueUntil(principal, this.clock.now() + lifetimeSeconds * 1000);
  }

  /** Issues a token that expires at `expiresAt` (virtual epoch milliseconds), e.g. with the token it derives from. */
  issueUntil(principal: Principal, expiresAt: number): { token: string; expiresAt: number } {
    const token = `ya29.bed-${randomBytes(18).toString('base64url')}`;
    this.tokens.set(token, { ...principal, expiresAt });
    return { token, expiresAt };
  }

  /** A bare token's principal and expiry (virtual epoch milliseconds), or undefined when unknown or expired. */
  lookup(token: string): { principal: Principal; expiresAt: number } | undefined {
    const issued = this.tokens.get(token);
    if (!issued || issued.expiresAt <= this.clock.now()) return undefined;
    const { expiresAt, ...principal } = issued;
    return { principal, expiresAt };
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
