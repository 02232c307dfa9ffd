// The guest's kernel for the image's server: the instance's firewall (the rules its `nft` stand-in recorded in
// the emulated kernel's state) applied to each connection the server accepts on loopback, by the uid that owns
// the client's socket, as guest-image.ts's guestFirewall does for the bed's own servers: output-hook chains
// walked in order, the first matching rule deciding for its chain (accept ends that chain only), a reject or
// drop anywhere refusing; a rule with a uid matches when the owner cannot be told.
'use strict';
const fs = require('node:fs');
const os = require('node:os');

/** An IPv4 address and port as /proc/net/tcp shows them (host byte order on this machine). */
function procEndpoint(address, port) {
  const plain = address.replace(/^::ffff:/i, '');
  const bytes = plain.split('.').map(Number);
  if (bytes.length !== 4 || bytes.some((b) => !(b >= 0 && b <= 255))) return undefined;
  const ordered = os.endianness() === 'LE' ? bytes.reverse() : bytes;
  const hex = ordered.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** The uid owning the client's end of a loopback connection, or undefined. */
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

/** Is `address` (IPv4, as the server saw it) within the rule's `ip daddr` (an address or ADDR/LEN)? */
function addressMatches(family, ruleAddress, address) {
  if (!ruleAddress || !family) return true;
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (family !== 'ip') return plain.includes(':') && plain === ruleAddress;
  if (plain.includes(':')) return false;
  const [net, len] = ruleAddress.split('/');
  const toInt = (a) => a.split('.').reduce((v, b) => v * 256 + Number(b), 0);
  const bits = len === undefined ? 32 : Number(len);
  const size = 2 ** (32 - bits);
  return Math.floor(toInt(plain) / size) === Math.floor(toInt(net) / size);
}

/** 'accept' or 'reject' for an accepted socket, by the rules in `kernelDir`. */
function judge(socket, kernelDir = '/run/bed-kernel') {
  let text = '';
  try {
    text = fs.readFileSync(`${kernelDir}/nft.rules`, 'utf8');
  } catch {
    return 'accept';
  }
  const policies = new Map();
  const rules = [];
  for (const line of text.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'C' && f[4] === 'output') policies.set(`${f[1]}\t${f[2]}`, f[5] || 'accept');
    if (f[0] === 'R' && f[9] === 'output') {
      const [, table, chain, verdict, uid, family, address, portOp, port] = f;
      rules.push({ chain: `${table}\t${chain}`, verdict, uid, family, address, portOp, port: Number(port) });
    }
  }
  let uid;
  let uidRead = false;
  for (const chain of new Set([...policies.keys(), ...rules.map((r) => r.chain)])) {
    let decided = false;
    for (const rule of rules.filter((r) => r.chain === chain)) {
      if (rule.uid) {
        if (!uidRead) {
          uid = peerUid(socket);
          uidRead = true;
        }
        if (uid !== undefined && uid !== Number(rule.uid)) continue;
      }
      if (!addressMatches(rule.family, rule.address, socket.localAddress ?? '')) continue;
      if (rule.portOp === '==' && socket.localPort !== rule.port) continue;
      if (rule.portOp === '!=' && socket.localPort === rule.port) continue;
      if (rule.verdict !== 'accept') return 'reject';
      decided = true;
      break;
    }
    if (!decided && policies.get(chain) === 'drop') return 'reject';
  }
  return 'accept';
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

module.exports = { guard, judge };
