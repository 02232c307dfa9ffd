import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readlink,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import {
  checkEntryPath,
  paxRecords,
  readTarFile,
  splitUstarName,
  type TarEntry,
  TarGzWriter,
  USTAR_MAX_OCTAL,
  ustarHeader,
  ustarHeaderBlocks,
} from '../../src/source/tar.ts';

const MTIME = 946684800;
const segment = (letter: string, length: number) => letter.repeat(length);

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString();
}

function checksumOk(block: Buffer): boolean {
  const copy = Buffer.from(block);
  copy.fill(' ', 148, 156);
  let sum = 0;
  for (const byte of copy) sum += byte;
  return parseInt(field(block, 148, 8).trim(), 8) === sum;
}

describe('tar headers', () => {
  const splits: [string, string, { prefix: string; name: string } | undefined][] = [
    ['short', 'a/b.txt', { prefix: '', name: 'a/b.txt' }],
    ['exactly 100 bytes', segment('n', 100), { prefix: '', name: segment('n', 100) }],
    [
      '150 bytes split at the first slash that fits',
      `${segment('p', 60)}/${segment('q', 40)}/${segment('r', 48)}`,
      { prefix: segment('p', 60), name: `${segment('q', 40)}/${segment('r', 48)}` },
    ],
    ['one long segment', segment('x', 101), undefined],
    ['prefix over 155 bytes', `${segment('p', 156)}/${segment('r', 10)}`, undefined],
    ['last segment over 100 bytes', `a/${segment('r', 101)}`, undefined],
    ['bytes, not characters', `${segment('é', 51)}`, undefined],
  ];
  for (const [title, path, want] of splits)
    it(`splitUstarName: ${title}`, () => assert.deepEqual(splitUstarName(path), want));

  const paths: [string, boolean][] = [
    ['a', true],
    ['a/b.c/...', true],
    ['', false],
    ['/abs', false],
    ['a//b', false],
    ['a/', false],
    ['a/../b', false],
    ['..', false],
    ['./a', false],
  ];
  for (const [path, ok] of paths) {
    it(`checkEntryPath ${JSON.stringify(path)} ${ok ? 'accepted' : 'refused'}`, () => {
      if (ok) checkEntryPath(path);
      else assert.throws(() => checkEntryPath(path), new RegExp(`refusing path ${JSON.stringify(path)}`));
    });
  }

  const records: [Record<string, string>, string][] = [
    [{ path: 'a' }, '9 path=a\n'],
    [{ path: segment('x', 90) }, `99 path=${segment('x', 90)}\n`],
    [{ path: segment('x', 91) }, `101 path=${segment('x', 91)}\n`],
    [{ path: 'é', size: '9' }, '11 path=é\n9 size=9\n'],
  ];
  for (const [input, want] of records) {
    it(`paxRecords ${JSON.stringify(input).slice(0, 40)}`, () => {
      const bytes = paxRecords(input);
      assert.equal(bytes.toString(), want);
      for (const line of bytes.toString().split('\n').slice(0, -1)) {
        assert.equal(Buffer.byteLength(`${line}\n`), parseInt(line, 10));
      }
    });
  }

  const members: [string, Parameters<typeof ustarHeaderBlocks>[0], Record<string, string | number>][] = [
    [
      'file',
      { path: 'top/run.sh', type: 'file', mode: 0o755, size: 10, mtime: MTIME },
      { name: 'top/run.sh', mode: '0000755', size: '00000000012', type: '0', blocks: 1 },
    ],
    [
      'directory gets a trailing slash',
      { path: 'top/d', type: 'directory', mode: 0o755, size: 0, mtime: MTIME },
      { name: 'top/d/', type: '5', blocks: 1 },
    ],
    [
      'symlink',
      { path: 'top/l', type: 'symlink', mode: 0o777, size: 0, mtime: MTIME, linkTarget: '../x' },
      { name: 'top/l', type: '2', link: '../x', blocks: 1 },
    ],
    [
      'largest octal size',
      { path: 'big', type: 'file', mode: 0o644, size: USTAR_MAX_OCTAL, mtime: MTIME },
      { size: '77777777777', blocks: 1 },
    ],
    [
      '8 GiB needs pax size=',
      { path: 'big', type: 'file', mode: 0o644, size: 8 * 2 ** 30, mtime: MTIME },
      { size: '00000000000', type: '0', blocks: 3, pax: '19 size=8589934592\n' },
    ],
    [
      'long symlink target needs pax linkpath=',
      { path: 'l', type: 'symlink', mode: 0o777, size: 0, mtime: MTIME, linkTarget: segment('t', 120) },
      { type: '2', blocks: 3, pax: `134 linkpath=${segment('t', 120)}\n` },
    ],
  ];
  for (const [title, input, want] of members) {
    it(`ustarHeaderBlocks: ${title}`, () => {
      const blocks = ustarHeaderBlocks(input);
      assert.equal(blocks.length, 512 * Number(want.blocks));
      const header = blocks.subarray(blocks.length - 512);
      assert.ok(checksumOk(header));
      assert.equal(field(header, 257, 8), 'ustar');
      assert.equal(field(header, 263, 2), '00');
      assert.equal(field(header, 108, 8), '0000000');
      assert.equal(field(header, 265, 32), '');
      assert.equal(field(header, 136, 12), MTIME.toString(8).padStart(11, '0'));
      if (want.name !== undefined) assert.equal(field(header, 0, 100), want.name);
      if (want.mode !== undefined) assert.equal(field(header, 100, 8), want.mode);
      if (want.size !== undefined) assert.equal(field(header, 124, 12), want.size);
      if (want.type !== undefined) assert.equal(field(header, 156, 1), want.type);
      if (want.link !== undefined) assert.equal(field(header, 157, 100), want.link);
      if (want.pax !== undefined) {
        assert.equal(field(blocks, 156, 1), 'x');
        assert.ok(checksumOk(blocks.subarray(0, 512)));
        assert.equal(field(blocks, 512, 512), want.pax);
      }
    });
  }

  it('a header’s checksum is the sum of its bytes with the checksum field as spaces', () => {
    const block = ustarHeader({
      name: 'a',
      prefix: '',
      typeFlag: '0',
      mode: 0o644,
      size: 1,
      mtime: 0,
      linkName: '',
    });
    assert.ok(checksumOk(block));
    assert.match(field(block, 148, 8), /^[0-7]{6}$/);
    assert.equal(block[155], 0x20);
  });

  it('refuses an mtime that does not fit', () => {
    assert.throws(
      () => ustarHeaderBlocks({ path: 'a', type: 'file', mode: 0o644, size: 0, mtime: -1 }),
      /mtime/,
    );
  });
});

describe('TarGzWriter read back by GNU tar', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'source-tar-'));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  async function write(name: string, entries: readonly TarEntry[]) {
    const file = join(dir, name);
    const writer = new TarGzWriter(createWriteStream(file), { mtime: MTIME });
    for (const entry of entries) await writer.add(entry);
    return { file, summary: await writer.finish() };
  }

  const longPath = `top/${segment('a', 50)}/${segment('b', 50)}/${segment('c', 44)}`; // 150 characters
  const veryLongPath = `top/${segment('d', 120)}/${segment('e', 120)}`;
  const longTarget = `../${segment('t', 117)}`;

  it('keeps names, link targets, modes and content; reports sha256 and sizes', async () => {
    const big = join(dir, 'big.bin');
    const bigContent = Buffer.alloc(300_000, 7);
    await writeFile(big, bigContent);
    const script = join(dir, 'script');
    await writeFile(script, '#!/bin/sh\necho hi\n');
    await chmod(script, 0o755);
    assert.equal(longPath.length, 150);
    assert.equal(longTarget.length, 120);
    const { file, summary } = await write('a.tar.gz', [
      { kind: 'directory', path: 'top' },
      { kind: 'file', path: 'top/a.txt', mode: 0o644, content: Buffer.from('hello\n') },
      { kind: 'file', path: 'top/empty', mode: 0o644, content: Buffer.alloc(0) },
      { kind: 'file', path: 'top/run.sh', mode: 0o755, content: { file: script } },
      { kind: 'file', path: 'top/big.bin', mode: 0o644, content: { file: big } },
      { kind: 'file', path: 'top/part', mode: 0o644, content: { file: big, offset: 10, size: 5 } },
      { kind: 'symlink', path: 'top/link', target: longTarget },
      { kind: 'symlink', path: 'top/near', target: 'a.txt' },
      { kind: 'directory', path: `top/${segment('a', 50)}` },
      { kind: 'directory', path: `top/${segment('a', 50)}/${segment('b', 50)}` },
      { kind: 'file', path: longPath, mode: 0o644, content: Buffer.from('long') },
      { kind: 'directory', path: `top/${segment('d', 120)}` },
      { kind: 'file', path: veryLongPath, mode: 0o755, content: Buffer.from('very long') },
    ]);

    const bytes = await readFile(file);
    assert.equal(summary.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(summary.size, bytes.length);
    assert.equal(summary.unpackedBytes, gunzipSync(bytes).length);
    assert.equal(summary.unpackedBytes % 512, 0);

    const listing = execFileSync('tar', ['-tzvf', file], { encoding: 'utf8' }).trim().split('\n');
    const byName = new Map(listing.map((line) => [line.split(/\s+/).slice(5).join(' '), line]));
    assert.match(byName.get('top/')!, /^drwxr-xr-x 0\/0 +0 2000-01-01 00:00 top\/$/);
    assert.match(byName.get('top/run.sh')!, /^-rwxr-xr-x 0\/0 +18 /);
    assert.match(byName.get('top/a.txt')!, /^-rw-r--r-- 0\/0 +6 /);
    assert.ok(byName.has(`top/link -> ${longTarget}`));
    assert.ok(byName.has(longPath));
    assert.ok(byName.has(veryLongPath));
    assert.ok(![...byName.keys()].some((n) => n.includes('PaxHeader')));

    const out = join(dir, 'out');
    await mkdir(out);
    execFileSync('tar', ['-xzf', file, '--strip-components=1', '-C', out]);
    assert.equal(await readFile(join(out, 'a.txt'), 'utf8'), 'hello\n');
    assert.equal((await stat(join(out, 'empty'))).size, 0);
    assert.equal((await stat(join(out, 'run.sh'))).mode & 0o111, 0o111);
    assert.equal((await stat(join(out, 'a.txt'))).mode & 0o111, 0);
    assert.deepEqual(await readFile(join(out, 'big.bin')), bigContent);
    assert.equal(await readFile(join(out, 'part'), 'utf8'), '\x07'.repeat(5));
    assert.equal(await readlink(join(out, 'link')), longTarget);
    assert.ok((await lstat(join(out, 'near'))).isSymbolicLink());
    assert.equal(await readFile(join(out, longPath.slice(4)), 'utf8'), 'long');
    assert.equal(await readFile(join(out, veryLongPath.slice(4)), 'utf8'), 'very long');
    assert.equal((await stat(join(out, veryLongPath.slice(4)))).mode & 0o111, 0o111);
  });

  it('gives the same bytes for the same members', async () => {
    const entries: TarEntry[] = [
      { kind: 'directory', path: 'top' },
      { kind: 'file', path: 'top/a', mode: 0o644, content: Buffer.from('x') },
    ];
    const first = await write('same-1.tar.gz', entries);
    const second = await write('same-2.tar.gz', entries);
    assert.equal(first.summary.sha256, second.summary.sha256);
  });

  const refusals: [string, TarEntry, RegExp][] = [
    ['an absolute path', { kind: 'directory', path: '/etc' }, /refusing path "\/etc"/],
    ['a .. segment', { kind: 'symlink', path: 'top/../x', target: 'y' }, /refusing path "top\/\.\.\/x"/],
    [
      'a missing file',
      { kind: 'file', path: 'top/m', mode: 0o644, content: { file: '/nonexistent/m' } },
      /\/nonexistent\/m/,
    ],
  ];
  for (const [title, entry, message] of refusals) {
    it(`refuses ${title}, naming it`, async () => {
      const writer = new TarGzWriter(createWriteStream(join(dir, 'refused.tar.gz')), { mtime: MTIME });
      await assert.rejects(writer.add(entry), message);
      await writer.finish();
    });
  }

  it('does not read a file through a symlink', async () => {
    const link = join(dir, 'to-passwd');
    await symlink('/etc/passwd', link);
    const writer = new TarGzWriter(createWriteStream(join(dir, 'link.tar.gz')), { mtime: MTIME });
    await assert.rejects(
      writer.add({ kind: 'file', path: 'p', mode: 0o644, content: { file: link } }),
      /to-passwd/,
    );
    await writer.finish();
  });
});

describe('readTarFile', () => {
  it('reads back members, pax paths and sizes over 8 GiB', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'source-tar-read-'));
    try {
      const long = `${segment('d', 120)}/${segment('e', 120)}`;
      const file = join(dir, 'headers.tar');
      const content = Buffer.from('abc');
      await writeFile(
        file,
        Buffer.concat([
          ustarHeaderBlocks({ path: long, type: 'file', mode: 0o755, size: 3, mtime: MTIME }),
          content,
          Buffer.alloc(509),
          ustarHeaderBlocks({
            path: 'l',
            type: 'symlink',
            mode: 0o777,
            size: 0,
            mtime: MTIME,
            linkTarget: long,
          }),
          ustarHeaderBlocks({ path: 'big', type: 'file', mode: 0o644, size: 2 ** 34, mtime: MTIME }),
        ]),
      );
      const members = [];
      for await (const member of readTarFile(file)) members.push(member);
      assert.deepEqual(
        members.map(({ path, type, mode, size, linkTarget }) => ({ path, type, mode, size, linkTarget })),
        [
          { path: long, type: 'file', mode: 0o755, size: 3, linkTarget: '' },
          { path: 'l', type: 'symlink', mode: 0o777, size: 0, linkTarget: long },
          { path: 'big', type: 'file', mode: 0o644, size: 2 ** 34, linkTarget: '' },
        ],
      );
      const bytes = await readFile(file);
      assert.equal(bytes.subarray(members[0].offset, members[0].offset + 3).toString(), 'abc');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
