/**
 * Raised for invalid fullauth configuration (an unknown group, a bare string where a list
 * is expected, ...). It is always thrown before any schema is built or registered.
 */
export class FullauthConfigError extends Error {
  override name = 'FullauthConfigError';
}
