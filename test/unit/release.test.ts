import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError } from '../../src/errors.ts';
import {
  bumpPackageJson,
  bumpPackageLock,
  changelogLink,
  changelogSection,
  compareVersions,
  latestReleaseTag,
  parseReleaseArgs,
  parseVersion,
  planRelease,
  releaseChangelog,
  releaseNotes,
  releaseRequest,
  unwrapMarkdown,
} from '../../scripts/release-lib.ts';

describe('parseVersion and compareVersions', () => {
  const cases: [string, [number, number, number] | undefined][] = [
    ['0.1.0', [0, 1, 0]],
    ['1.22.333', [1, 22, 333]],
    ['v0.1.0', undefined],
    ['0.1', undefined],
    ['0.1.0.0', undefined],
    ['01.1.0', undefined],
    ['0.1.0-rc.1', undefined],
    ['0.1.0+build', undefined],
    [' 0.1.0', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) {
    it(JSON.stringify(text), () => {
      const v = parseVersion(text);
      assert.deepEqual(v && [v.major, v.minor, v.patch], want);
    });
  }

  it('orders numerically, not as text', () => {
    const order = ['0.1.9', '0.2.0', '0.10.0', '1.0.0', '1.0.10', '10.0.0'].map((t) => parseVersion(t)!);
    for (let i = 1; i < order.length; i++) assert.ok(compareVersions(order[i - 1], order[i]) < 0);
    assert.equal(compareVersions(parseVersion('2.3.4')!, parseVersion('2.3.4')!), 0);
  });
});

describe('latestReleaseTag', () => {
  const cases: [string[], string | undefined][] = [
    [[], undefined],
    [['v0', 'v1', 'latest'], undefined],
    [['v0.9.0', 'v0.10.0', 'v0'], 'v0.10.0'],
    [['v1.0.0', 'v0.99.99', 'v1'], 'v1.0.0'],
    [['v1.0.0-rc.1', 'v0.1.0'], 'v0.1.0'],
  ];
  for (const [tags, want] of cases) {
    it(`${JSON.stringify(tags)} -> ${want}`, () => assert.equal(latestReleaseTag(tags), want));
  }
});

describe('planRelease', () => {
  const ok: [string, string, string[], { tag: string; majorTag: string; previousTag?: string }][] = [
    ['0.1.0', '0.1.0', [], { tag: 'v0.1.0', majorTag: 'v0' }],
    ['0.2.0', '0.1.0', [], { tag: 'v0.2.0', majorTag: 'v0' }],
    ['0.1.1', '0.1.0', ['v0.1.0', 'v0'], { tag: 'v0.1.1', majorTag: 'v0', previousTag: 'v0.1.0' }],
    ['1.0.0', '0.9.3', ['v0.9.3', 'v0'], { tag: 'v1.0.0', majorTag: 'v1', previousTag: 'v0.9.3' }],
    ['0.10.0', '0.9.0', ['v0.9.0'], { tag: 'v0.10.0', majorTag: 'v0', previousTag: 'v0.9.0' }],
  ];
  for (const [version, pkg, tags, want] of ok) {
    it(`${version} after package ${pkg} and ${JSON.stringify(tags)}`, () => {
      const plan = planRelease(version, pkg, tags);
      assert.deepEqual(plan, { version, previousTag: undefined, ...want });
    });
  }

  const refused: [string, string, string[], RegExp][] = [
    ['v0.2.0', '0.1.0', [], /VERSION is "v0\.2\.0", not a version MAJOR\.MINOR\.PATCH/],
    ['0.2', '0.1.0', [], /not a version/],
    ['0.1.0', '0.1.0', ['v0.1.0', 'v0'], /0\.1\.0 is released already \(tag v0\.1\.0 exists\)/],
    ['0.1.0', '0.1.0', ['v0.2.0'], /not above the latest release v0\.2\.0/],
    ['0.1.5', '0.1.5', ['v0.2.0'], /not above the latest release v0\.2\.0/],
    ['0.0.9', '0.1.0', [], /below package\.json's version 0\.1\.0: give 0\.1\.0 or a greater/],
    ['0.2.0', 'banana', [], /package\.json's version is "banana"/],
  ];
  for (const [version, pkg, tags, error] of refused) {
    it(`refuses ${version} after package ${pkg} and ${JSON.stringify(tags)}`, () => {
      assert.throws(
        () => planRelease(version, pkg, tags),
        (err: unknown) => err instanceof ConfigurationError && error.test(err.message),
      );
    });
  }
});

const HEAD = '# Changelog\n\nEvery change.\n\n';
const ADDED = '### Added\n\n- A thing that is described on a line\n  and continued on the next.\n';

describe('releaseChangelog', () => {
  const cases: { name: string; before: string; link?: string; after: string }[] = [
    {
      name: 'the first release',
      before: `${HEAD}## Unreleased\n\n${ADDED}`,
      after: `${HEAD}## Unreleased\n\n## [0.2.0] - 2025-03-04\n\n${ADDED}`,
    },
    {
      name: 'above an earlier release, empty subsections dropped',
      before: `${HEAD}## Unreleased\n\n### Added\n\n### Fixed\n\n- A fix.\n\n### Removed\n\n## [0.1.0] - 2025-01-01\n\n- Old.\n`,
      after: `${HEAD}## Unreleased\n\n## [0.2.0] - 2025-03-04\n\n### Fixed\n\n- A fix.\n\n## [0.1.0] - 2025-01-01\n\n- Old.\n`,
    },
    {
      name: 'a bracketed Unreleased heading, no final newline',
      before: `${HEAD}## [Unreleased]\n- One.`,
      after: `${HEAD}## [Unreleased]\n\n## [0.2.0] - 2025-03-04\n\n- One.\n`,
    },
    {
      name: 'a link: appended as the first definition',
      before: `${HEAD}## Unreleased\n\n- One.\n`,
      link: 'https://github.com/o/r/releases/tag/v0.2.0',
      after: `${HEAD}## Unreleased\n\n## [0.2.0] - 2025-03-04\n\n- One.\n\n[0.2.0]: https://github.com/o/r/releases/tag/v0.2.0\n`,
    },
    {
      name: 'a link: put before the existing definitions, which stay out of the section',
      before: `${HEAD}## Unreleased\n\n- Two.\n\n## [0.1.0] - 2025-01-01\n\n- One.\n\n[0.1.0]: https://x/v0.1.0\n`,
      link: 'https://x/compare',
      after: `${HEAD}## Unreleased\n\n## [0.2.0] - 2025-03-04\n\n- Two.\n\n## [0.1.0] - 2025-01-01\n\n- One.\n\n[0.2.0]: https://x/compare\n[0.1.0]: https://x/v0.1.0\n`,
    },
    {
      name: 'only Unreleased, followed by definitions',
      before: `${HEAD}## Unreleased\n\n- Two.\n\n[0.1.0]: https://x/v0.1.0\n`,
      link: 'https://x/compare',
      after: `${HEAD}## Unreleased\n\n## [0.2.0] - 2025-03-04\n\n- Two.\n\n[0.2.0]: https://x/compare\n[0.1.0]: https://x/v0.1.0\n`,
    },
    {
      name: 'CRLF line ends are kept',
      before: '# C\r\n\r\n## Unreleased\r\n\r\n- One.\r\n',
      after: '# C\r\n\r\n## Unreleased\r\n\r\n## [0.2.0] - 2025-03-04\r\n\r\n- One.\r\n',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(
        releaseChangelog(c.before, { version: '0.2.0', date: '2025-03-04', link: c.link }),
        c.after,
      );
    });
  }

  const refused: [string, string, RegExp][] = [
    ['no Unreleased section', `${HEAD}## [0.1.0] - 2025-01-01\n\n- Old.\n`, /no "## Unreleased" section/],
    [
      'an empty Unreleased section',
      `${HEAD}## Unreleased\n\n## [0.1.0] - 2025-01-01\n\n- Old.\n`,
      /is empty/,
    ],
    [
      'only empty subsections',
      `${HEAD}## Unreleased\n\n### Added\n\n### Changed\n`,
      /is empty: list what 0\.2\.0/,
    ],
    [
      'only definitions after it',
      `${HEAD}## Unreleased\n\n[0.1.0]: https://x/v0.1.0\n`,
      /Unreleased section is empty/,
    ],
    [
      'the version present already',
      `${HEAD}## Unreleased\n\n- New.\n\n## 0.2.0\n\n- Old.\n`,
      /section for 0\.2\.0/,
    ],
  ];
  for (const [name, text, error] of refused) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => releaseChangelog(text, { version: '0.2.0', date: '2025-03-04' }),
        (err: unknown) => err instanceof ConfigurationError && error.test(err.message),
      );
    });
  }

  it('is read back by changelogSection and releaseNotes', () => {
    const released = releaseChangelog(
      `${HEAD}## Unreleased\n\n${ADDED}\n## [0.1.0] - 2025-01-01\n\n- Old.\n`,
      {
        version: '0.2.0',
        date: '2025-03-04',
        link: 'https://x',
      },
    );
    assert.equal(changelogSection(released, '0.2.0'), ADDED.trimEnd());
    assert.equal(changelogSection(released, '0.1.0'), '- Old.');
    assert.equal(changelogSection(released, '0.1'), undefined);
    assert.equal(
      releaseNotes(released, '0.2.0'),
      '### Added\n\n- A thing that is described on a line and continued on the next.',
    );
    assert.throws(() => releaseNotes(released, '0.3.0'), /no entries for 0\.3\.0/);
  });
});

describe('changelogSection', () => {
  const text = '## Unreleased\n\n## [1.0.0] - d\n\n- one\n\n## 0.9.0\n\n- nine\n\n## [0.9.0-rc.1]\n\n- rc\n';
  const cases: [string, string | undefined][] = [
    ['1.0.0', '- one'],
    ['0.9.0', '- nine'],
    ['0.9', undefined],
    ['2.0.0', undefined],
  ];
  for (const [version, want] of cases) {
    it(version, () => assert.equal(changelogSection(text, version), want));
  }
});

describe('unwrapMarkdown', () => {
  const cases: [string, string, string][] = [
    ['a wrapped list item', '- one\n  two\n- three', '- one two\n- three'],
    ['a wrapped paragraph', 'one\ntwo\n\nthree', 'one two\n\nthree'],
    ['headings and what follows them', '### Added\n- one\n  more', '### Added\n- one more'],
    ['ordered and nested items', '1. one\n   more\n   - sub\n     item', '1. one more\n   - sub item'],
    [
      'a fenced block',
      'Run:\n```sh\nnpm ci\nnpm test\n```\nafter',
      'Run:\n```sh\nnpm ci\nnpm test\n```\nafter',
    ],
    [
      'an indented block',
      'Run:\n\n    npm ci\n    npm test\n\nend',
      'Run:\n\n    npm ci\n    npm test\n\nend',
    ],
    ['a table', '| a | b |\n| - | - |\n| 1 | 2 |', '| a | b |\n| - | - |\n| 1 | 2 |'],
    ['an issue number at the start of a line', '- fixes\n  #12 and more', '- fixes #12 and more'],
  ];
  for (const [name, text, want] of cases) {
    it(name, () => assert.equal(unwrapMarkdown(text), want));
  }
});

describe('bumpPackageJson and bumpPackageLock', () => {
  it('set the version and keep the rest, formatted as npm writes it', () => {
    const pkg = `${JSON.stringify({ name: 'x', version: '0.1.0', files: ['a', 'b'], scripts: { t: 'x' } }, null, 2)}\n`;
    const bumped = bumpPackageJson(pkg, '0.2.0');
    assert.equal(bumped, pkg.replace('"version": "0.1.0"', '"version": "0.2.0"'));
    const lock = {
      name: 'x',
      version: '0.1.0',
      lockfileVersion: 3,
      packages: { '': { name: 'x', version: '0.1.0' }, 'node_modules/y': { version: '0.1.0' } },
    };
    const after = JSON.parse(bumpPackageLock(JSON.stringify(lock, null, 2), '0.2.0')) as typeof lock;
    assert.equal(after.version, '0.2.0');
    assert.equal(after.packages[''].version, '0.2.0');
    assert.equal(after.packages['node_modules/y'].version, '0.1.0', 'a dependency of the same version');
  });

  it('refuse what is not a JSON object', () => {
    assert.throws(() => bumpPackageJson('{', '0.2.0'), /package\.json is not valid JSON/);
    assert.throws(() => bumpPackageLock('[]', '0.2.0'), /package-lock\.json is not a JSON object/);
  });
});

describe('changelogLink and releaseRequest', () => {
  it('compare with the previous release, or the first release page', () => {
    const first = planRelease('0.1.0', '0.1.0', []);
    const next = planRelease('0.2.0', '0.1.0', ['v0.1.0']);
    assert.equal(
      changelogLink('https://github.com/', 'o/r', first),
      'https://github.com/o/r/releases/tag/v0.1.0',
    );
    assert.equal(
      changelogLink('https://ghe.example', 'o/r', next),
      'https://ghe.example/o/r/compare/v0.1.0...v0.2.0',
    );
  });

  it('is a POST of the tag, named after it, with the notes', () => {
    const plan = planRelease('0.2.0', '0.1.0', ['v0.1.0']);
    assert.deepEqual(releaseRequest('https://api.github.com/', 'o/r', plan, 'notes'), {
      method: 'POST',
      url: 'https://api.github.com/repos/o/r/releases',
      body: { tag_name: 'v0.2.0', name: 'v0.2.0', body: 'notes', draft: false, prerelease: false },
    });
  });
});

describe('parseReleaseArgs', () => {
  const cases: [string[], { version: string; dryRun: boolean } | RegExp][] = [
    [['0.2.0'], { version: '0.2.0', dryRun: false }],
    [['0.2.0', '--dry-run'], { version: '0.2.0', dryRun: true }],
    [['--dry-run', '0.2.0'], { version: '0.2.0', dryRun: true }],
    [[], /give exactly one VERSION/],
    [['0.2.0', '0.3.0'], /give exactly one VERSION/],
    [['0.2.0', '--force'], /unknown option --force/],
  ];
  for (const [argv, want] of cases) {
    it(JSON.stringify(argv), () => {
      if (want instanceof RegExp) {
        assert.throws(
          () => parseReleaseArgs(argv),
          (err: unknown) => err instanceof ConfigurationError && want.test(err.message),
        );
      } else {
        assert.deepEqual(parseReleaseArgs(argv), want);
      }
    });
  }
});
