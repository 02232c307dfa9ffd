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
import { loopbackPeerUid } from '../../src/emulator/metadata.ts';
import type { ConnectionFilter, MetadataConnection } from '../../src/emulator/metadata.ts';
// The judge is the image's own (the guest's node runs it too): one emulation of the guest's firewall.
import { decide, readRules } from './guest-image/web-image/firewall.cjs';

/** Where the guest's emulated kernel keeps its firewall: bound read-write, mode 700, so that root alone changes it. */
export const GUEST_KERNEL_DIR = '/run/bed-kernel';

/** Where the image's stand-in tools are: first on root's PATH, as /usr/local/sbin is on Debian. */
export const GUEST_TOOLS_DIR = '/usr/local/sbin';

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

/**
 * The guest's firewall on the output path, for a server of the bed that the guest connects to on loopback: the
 * rules recorded in `kernelDir`, read again for each connection and judged by firewall.cjs's `decide` (the one
 * the image's own server uses), the uid of a rule being the owner of the client's socket.
 */
export function guestFirewall(kernelDir: string): ConnectionFilter {
  return (conn: MetadataConnection) => decide(readRules(kernelDir), conn, () => loopbackPeerUid(conn));
}
