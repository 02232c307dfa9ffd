import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { protos } from '@google-cloud/compute';
import { ConfigurationError } from '../../src/errors.ts';
import type { ImageRef } from '../../src/launch/preflight.ts';
import { describeImage, imageUsability, parseImageInput } from '../../src/launch/preflight.ts';

type Image = protos.google.cloud.compute.v1.IImage;

describe('parseImageInput', () => {
  const cases: [string, string, ImageRef][] = [
    [
      'a family',
      'projects/debian-cloud/global/images/family/debian-12',
      { project: 'debian-cloud', kind: 'family', name: 'debian-12' },
    ],
    [
      'an image',
      'projects/ubuntu-os-cloud/global/images/ubuntu-2204-jammy-v20250128',
      { project: 'ubuntu-os-cloud', kind: 'image', name: 'ubuntu-2204-jammy-v20250128' },
    ],
    [
      'an API URL',
      'https://www.googleapis.com/compute/v1/projects/cos-cloud/global/images/family/cos-stable',
      { project: 'cos-cloud', kind: 'family', name: 'cos-stable' },
    ],
    [
      'an API URL of the newer host',
      'https://compute.googleapis.com/compute/v1/projects/my-project/global/images/bench-v3',
      { project: 'my-project', kind: 'image', name: 'bench-v3' },
    ],
    [
      'the launching project own image',
      'global/images/bench-v3',
      { project: 'own-project', kind: 'image', name: 'bench-v3' },
    ],
    [
      'the launching project own family',
      'global/images/family/bench',
      { project: 'own-project', kind: 'family', name: 'bench' },
    ],
    [
      'a path without projects/',
      'deeplearning-platform-release/global/images/family/common-cu124-debian-11-py310',
      { project: 'deeplearning-platform-release', kind: 'family', name: 'common-cu124-debian-11-py310' },
    ],
    [
      'an image by numeric id',
      'projects/debian-cloud/global/images/5941224478230462917',
      { project: 'debian-cloud', kind: 'image', name: '5941224478230462917' },
    ],
    [
      'a domain-scoped project',
      'projects/example.com:tools/global/images/family/base',
      { project: 'example.com:tools', kind: 'family', name: 'base' },
    ],
    [
      'surrounding blanks',
      '  projects/debian-cloud/global/images/family/debian-12\n',
      { project: 'debian-cloud', kind: 'family', name: 'debian-12' },
    ],
  ];
  for (const [what, input, expected] of cases) {
    it(`reads ${what}`, () => {
      assert.deepEqual(parseImageInput(input, 'own-project'), expected);
    });
  }

  const bad: [string, string][] = [
    ['a bare family name', 'debian-12'],
    ['a family path with nothing after the family', 'projects/debian-cloud/global/images/family/'],
    ['an image name with capitals', 'projects/debian-cloud/global/images/Debian-12'],
    ['a disk instead of an image', 'projects/p/zones/us-central1-a/disks/d'],
    ['a URL of another API', 'https://storage.googleapis.com/b/o'],
    ['a trailing slash', 'projects/debian-cloud/global/images/family/debian-12/'],
    ['nothing', ''],
  ];
  for (const [what, input] of bad) {
    it(`refuses ${what}, naming the input and its forms`, () => {
      assert.throws(
        () => parseImageInput(input, 'own-project'),
        (err: unknown) =>
          err instanceof ConfigurationError &&
          /^input image ".*" is not an image or an image family: give projects\/PROJECT\/global\/images\/NAME or projects\/PROJECT\/global\/images\/family\/FAMILY/.test(
            err.message,
          ),
      );
    });
  }
});

describe('describeImage', () => {
  it('names a family and an image with their project', () => {
    assert.equal(
      describeImage({ project: 'debian-cloud', kind: 'family', name: 'debian-12' }),
      'image family debian-12 of project debian-cloud',
    );
    assert.equal(
      describeImage({ project: 'p', kind: 'image', name: 'bench-v3' }),
      'image bench-v3 of project p',
    );
  });
});

describe('imageUsability', () => {
  const replacement =
    'https://www.googleapis.com/compute/v1/projects/debian-cloud/global/images/debian-12-v2';
  const cases: [string, Image, { error?: RegExp; warning?: RegExp }][] = [
    ['a ready image', { name: 'debian-12-v2', status: 'READY' }, {}],
    ['an image without status', { name: 'x' }, {}],
    [
      'a deprecated image, with its replacement',
      { name: 'debian-12-v1', status: 'READY', deprecated: { state: 'DEPRECATED', replacement } },
      {
        warning:
          /^debian-12-v1 is deprecated; its replacement is projects\/debian-cloud\/global\/images\/debian-12-v2$/,
      },
    ],
    [
      'an obsolete image',
      { name: 'debian-10-v1', status: 'READY', deprecated: { state: 'OBSOLETE' } },
      { error: /^debian-10-v1 is obsolete and can no longer boot a VM$/ },
    ],
    [
      'a deleted image',
      { name: 'old', status: 'READY', deprecated: { state: 'DELETED', replacement } },
      { error: /^old is deleted and can no longer boot a VM; its replacement is projects\/debian-cloud/ },
    ],
    [
      'an image still being made',
      { name: 'fresh', status: 'PENDING' },
      { error: /^fresh is PENDING, not READY$/ },
    ],
    ['a failed image', { name: 'broken', status: 'FAILED' }, { error: /^broken is FAILED, not READY$/ }],
  ];
  for (const [what, image, expected] of cases) {
    it(`judges ${what}`, () => {
      const got = imageUsability(image);
      assert.deepEqual(Object.keys(got).sort(), Object.keys(expected).sort());
      if (expected.error) assert.match(got.error ?? '', expected.error);
      if (expected.warning) assert.match(got.warning ?? '', expected.warning);
    });
  }
});
