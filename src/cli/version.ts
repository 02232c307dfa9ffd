// Read at build time: the bundle carries the version, and node reads the same file when it runs the sources.
import pkg from '../../package.json' with { type: 'json' };

/** The version of this gce-matrix, from package.json. */
export const VERSION: string = pkg.version;
