/**
 * The types of firewall.cjs, the guest's kernel's firewall judge (plain CommonJS, which the guest's node runs as
 * it is), for the bed's TypeScript (guest-image.ts).
 */
import type { Server, Socket } from 'node:net';

/** One rule of the guest's firewall, as its `nft` recorded it. */
export interface Rule {
  /** `TABLE\tCHAIN`. */
  chain: string;
  /** The hook of the rule's base chain (`output` is the one judged). */
  hook: string;
  verdict: string;
  uid?: number;
  family?: 'ip' | 'ip6';
  address?: string;
  portOp?: '==' | '!=';
  port?: number;
}

/** The recorded rules, and the policies of the output-hook chains by `TABLE\tCHAIN`. */
export interface Firewall {
  rules: Rule[];
  policies: Map<string, string>;
}

/** What the judge needs of a connection: the server's end, the address and port the client connected to. */
export interface JudgedConnection {
  readonly localAddress: string;
  readonly localPort: number;
}

/** The rules the image's `nft` recorded in the kernel's state at `kernelDir` (none when it has none yet). */
export function readRules(kernelDir: string): Firewall;

/** Does `address` fall in `rule.address` (an address or ADDR/LEN of the rule's family)? */
export function addressMatches(rule: Rule, address: string): boolean;

/**
 * 'accept' or 'reject' for `conn` by `firewall`'s output-hook chains; `peerUid` (asked at most once, only when a
 * rule names a uid) tells the uid owning the client's socket, or undefined when it cannot be told.
 */
export function decide(
  firewall: Firewall,
  conn: JudgedConnection,
  peerUid: () => number | undefined,
): 'accept' | 'reject';

/** 'accept' or 'reject' for a socket the image's server accepted, by the rules in `kernelDir`. */
export function judge(socket: Socket, kernelDir?: string): 'accept' | 'reject';

/** Resets every connection `server` accepts that the guest's firewall refuses, before a byte is read. */
export function guard(server: Server, kernelDir?: string): void;
