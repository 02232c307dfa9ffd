// The guest's kernel's firewall, the one judge of it in the bed: the rules the image's `nft` stand-in recorded in
// the emulated kernel's state, applied to each connection a server for the guest accepts on loopback, by the uid
// that owns the client's socket. The image's server (bed/web:1) loads it with `guard`; the bed's own servers
// (its metadata server) through guest-image.ts. Plain CommonJS: the guest's node runs it as it is.
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');

/** The file of the kernel's state the image's `nft` writes and the judge reads. */
const RULES_FILE = 'nft.rules';

/**
 * The recorded rules and the output-hook chains' policies (`R` and `C` lines of tab-separated fields); none
 * when the kernel has no rules file yet.
 */
function readRules(kernelDir) {
  const rules = [];
  const policies = new Map();
  let text;
  try {
    text = fs.readFileSync(`${kernelDir}/${RULES_FILE}`, 'utf8');
  } catch {
    return { rules, policies };
  }
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'C' && f[4] === 'output') policies.set(`${f[1]}\t${f[2]}`, f[5] ?? 'accept');
    if (f[0] !== 'R') continue;
    const [, table, chain, verdict, uid, family, address, portOp, port, hook] = f;
    rules.push({
      chain: `${table}\t${chain}`,
      hook: hook ?? '',
      verdict: verdict ?? '',
      uid: uid ? Number(uid) : undefined,
      family: family === 'ip' || family === 'ip6' ? family : undefined,
      address: address || undefined,
      portOp: portOp === '==' || portOp === '!=' ? portOp : undefined,
      port: port ? Number(port) : undefined,
    });
  }
  return { rules, policies };
}

/** Does `address` (as the server saw it) fall in `rule.address` (an address or ADDR/LEN of the rule's family)? */
function addressMatches(rule, address) {
  if (!rule.address || !rule.family) return true;
  const type = rule.family === 'ip' ? 'ipv4' : 'ipv6';
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (type === 'ipv4' ? !net.isIPv4(plain) : !net.isIPv6(plain)) return false;
  const [subnet, len] = rule.address.split('/');
  const list = new net.BlockList();
  try {
    list.addSubnet(subnet ?? '', len === undefined ? (type === 'ipv4' ? 32 : 128) : Number(len), type);
  } catch {
    return false;
  }
  return list.check(plain, type);
}

/**
 * 'accept' or 'reject' for a connection to `conn.localAddress`:`conn.localPort`, by `firewall` (readRules's
 * answer): each base chain on the output hook is walked in order, and the first rule that matches decides for
 * its chain (`accept` ends that chain only, as in nftables; `drop` or `reject` refuses the connection, a drop
 * answered as a reset, so that no test waits for a connect timeout); a chain whose policy is `drop` refuses
 * what none of its rules accepted. `peerUid` tells the uid owning the client's socket, asked at most once and
 * only when a rule names a uid; when it cannot be told, a rule with a uid counts as matching: the bed never
 * lets through what the rules might refuse.
 */
function decide(firewall, conn, peerUid) {
  const { rules, policies } = firewall;
  const output = rules.filter((r) => r.hook === 'output');
  if (output.length === 0 && ![...policies.values()].includes('drop')) return 'accept';
  let uid;
  let uidRead = false;
  const owner = () => {
    if (!uidRead) {
      uid = peerUid();
      uidRead = true;
    }
    return uid;
  };
  for (const chain of new Set([...policies.keys(), ...output.map((r) => r.chain)])) {
    let decided = false;
    for (const rule of output.filter((r) => r.chain === chain)) {
      if (rule.uid !== undefined) {
        const client = owner();
        if (client !== undefined && client !== rule.uid) continue;
      }
      if (!addressMatches(rule, conn.localAddress)) continue;
      if (rule.portOp === '==' && conn.localPort !== rule.port) continue;
      if (rule.portOp === '!=' && conn.localPort === rule.port) continue;
      if (rule.verdict !== 'accept') return 'reject';
      decided = true;
      break;
    }
    if (!decided && policies.get(chain) === 'drop') return 'reject';
  }
  return 'accept';
}

/** An IPv4 address and port as /proc/net/tcp shows them (host byte order on this machine). */
function procEndpoint(address, port) {
  const plain = address.replace(/^::ffff:/i, '');
  const bytes = plain.split('.').map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) return undefined;
  const ordered = os.endianness() === 'LE' ? bytes.reverse() : bytes;
  const hex = ordered.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

// The guest cannot load the bed's TypeScript, so its server has this IPv4-only reading of the socket table;
// the bed's own servers use src/emulator/metadata.ts's loopbackPeerUid.
/** The uid owning the client's end of a loopback IPv4 connection, or undefined. */
function peerUid(socket) {
  const client = procEndpoint(socket.remoteAddress ?? '', socket.remotePort ?? 0);
  const server = procEndpoint(socket.localAddress ?? '', socket.localPort ?? 0);
  if (!client || !server) return undefined;
  let text;
  try {
    text = fs.readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === client && f[2] === server && /^\d+$/.test(f[7] ?? '')) return Number(f[7]);
  }
  return undefined;
}

/** 'accept' or 'reject' for an accepted socket, by the rules in `kernelDir`. */
function judge(socket, kernelDir = '/run/bed-kernel') {
  const conn = { localAddress: socket.localAddress ?? '', localPort: socket.localPort ?? 0 };
  return decide(readRules(kernelDir), conn, () => peerUid(socket));
}

/** Resets every connection `server` accepts that the guest's firewall refuses, before a byte is read. */
function guard(server, kernelDir) {
  server.on('connection', (socket) => {
    let verdict;
    try {
      verdict = judge(socket, kernelDir);
    } catch {
      verdict = 'reject';
    }
    if (verdict !== 'accept') socket.resetAndDestroy();
  });
}

module.exports = { readRules, addressMatches, decide, judge, guard };
