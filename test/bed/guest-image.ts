/**
 * What the test bed's image adds to the host's system directories for a guest, and the part of the guest's
 * kernel the bed emulates: users and the firewall. Instances share the host's kernel (and its netfilter), so a
 * guest's `useradd` and `nft` cannot be the host's: the image's are stand-ins (guest-image/*.sh, first on
 * root's PATH) that write the instance's own /etc/passwd and /etc/group and the instance's firewall rules, and
 * the bed's servers for the guest (its metadata server) apply those rules to each connection they accept, by
 * the uid that owns the client's socket. A guest that is refused was refused by the rules its root installed.
 */
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { loopbackPeerUid } from '../../src/emulator/metadata.ts';
import type { ConnectionFilter, MetadataConnection } from '../../src/emulator/metadata.ts';

/** Where the guest's emulated kernel keeps its firewall: bound read-write, mode 700, so that root alone changes it. */
export const GUEST_KERNEL_DIR = '/run/bed-kernel';

/** Where the image's stand-in tools are: first on root's PATH, as /usr/local/sbin is on Debian. */
export const GUEST_TOOLS_DIR = '/usr/local/sbin';

/** The file of the kernel's state the image's `nft` writes and `guestFirewall` reads. */
const RULES_FILE = 'nft.rules';

/**
 * Each instance's users get uids from a block of its own, far above the host's users: the instances' processes
 * all run on the host's kernel, where a uid two of them shared would let one reach the other's processes.
 */
export function reserveUidBlock(): number {
  return 2_000_000_000 + randomInt(0, 100_000) * 1000;
}

/**
 * The image's stand-in tools (file name -> content, names relative to GUEST_TOOLS_DIR) for an instance whose
 * users start at `firstUid`; `images/` holds the container images its engine runs (`bed/web:1`).
 */
export function imageTools(
  firstUid: number,
  image: { containerEngine: boolean; vcpus?: number } = { containerEngine: false },
): Record<string, string> {
  const read = (name: string) => readFileSync(new URL(`./guest-image/${name}`, import.meta.url), 'utf8');
  const engine = readFileSync(new URL('../agent/engine/docker', import.meta.url), 'utf8');
  return {
    nft: read('nft.sh'),
    useradd: read('useradd.sh').replace('@FIRST_UID@', String(firstUid)),
    // The machine type's CPUs, as the guest's kernel would report them, folded onto the host's.
    taskset: read('taskset.sh')
      .replace('@VCPUS@', String(image.vcpus ?? 2))
      .replace('@KERNEL_DIR@', GUEST_KERNEL_DIR),
    // An image that ships a container engine gets the agent's tests' stand-in, its containers in the emulated
    // kernel's state (root's alone), its images the ones below.
    ...(image.containerEngine
      ? {
          docker: engine.replace(
            '# ENGINE_DEFAULTS\n',
            `: "\${FAKE:=${GUEST_KERNEL_DIR}}" "\${FAKE_IMAGES:=${GUEST_TOOLS_DIR}/images}"\n`,
          ),
          ...Object.fromEntries(
            ['run', 'ready', 'manifest', 'firewall.cjs'].map((f) => [
              `images/bed_web_1/${f}`,
              read(`web-image/${f}`),
            ]),
          ),
        }
      : {}),
  };
}

/** One rule of the guest's firewall, as its `nft` recorded it. */
interface Rule {
  chain: string;
  hook: string;
  verdict: string;
  uid?: number;
  family?: 'ip' | 'ip6';
  address?: string;
  portOp?: '==' | '!=';
  port?: number;
}

/** The recorded rules and chain policies (`R` and `C` lines of tab-separated fields). */
function readRules(kernelDir: string): { rules: Rule[]; policies: Map<string, string> } {
  let text: string;
  try {
    text = readFileSync(`${kernelDir}/${RULES_FILE}`, 'utf8');
  } catch {
    return { rules: [], policies: new Map() };
  }
  const rules: Rule[] = [];
  const policies = new Map<string, string>();
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

/** Does `address` fall in `rule.address` (an address or ADDR/LEN of the rule's family)? */
function addressMatches(rule: Rule, address: string): boolean {
  if (!rule.address || !rule.family) return true;
  const type = rule.family === 'ip' ? 'ipv4' : 'ipv6';
  const plain = address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  if (type === 'ipv4' ? !isIPv4(plain) : !isIPv6(plain)) return false;
  const [net, len] = rule.address.split('/');
  const list = new BlockList();
  try {
    list.addSubnet(net ?? '', len === undefined ? (type === 'ipv4' ? 32 : 128) : Number(len), type);
  } catch {
    return false;
  }
  return list.check(plain, type);
}

/**
 * The guest's firewall on the output path, for a server of the bed that the guest connects to on loopback:
 * each base chain on the output hook is walked in order, and the first rule that matches decides for its chain
 * (`accept` ends that chain only, as in nftables; `drop` or `reject` refuses the connection, a drop answered
 * as a reset, so that no test waits for a connect timeout); a chain whose policy is `drop` refuses what none of
 * its rules accepted. The uid of a rule is the owner of the client's socket; when it cannot be told, a rule
 * with a uid counts as matching: the bed never lets through what the rules might refuse.
 */
export function guestFirewall(kernelDir: string): ConnectionFilter {
  return (conn: MetadataConnection) => {
    const { rules, policies } = readRules(kernelDir);
    const output = rules.filter((r) => r.hook === 'output');
    if (output.length === 0 && ![...policies.values()].includes('drop')) return 'accept';
    let uid: number | undefined;
    let uidRead = false;
    const peerUid = () => {
      if (!uidRead) {
        uid = loopbackPeerUid(conn);
        uidRead = true;
      }
      return uid;
    };
    const chains = new Set([...policies.keys(), ...output.map((r) => r.chain)]);
    for (const chain of chains) {
      let decided = false;
      for (const rule of output.filter((r) => r.chain === chain)) {
        if (rule.uid !== undefined) {
          const owner = peerUid();
          if (owner !== undefined && owner !== rule.uid) continue;
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
  };
}
