/**
 * A mistake in what the user gave us (an input, a spec, the environment), as opposed to a bug in gce-matrix
 * or a failure of a service. Its message names the input and says how to fix it; it is shown without a stack.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}

/** True when `err` is a user error that should be reported as such rather than as a crash. */
export function isConfigurationError(err: unknown): err is ConfigurationError {
  return err instanceof ConfigurationError;
}
