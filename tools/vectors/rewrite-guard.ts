/**
 * Rewriting a test vector from the code it tests turns the vector into a self-comparison:
 * allowed on a developer's machine after a deliberate format change, never in CI (CI=true),
 * where a regenerated vector would hide the very change it exists to catch.
 */
export function assertMayRewriteVectors(how: string): void {
  const ci = process.env.CI;
  if (ci && ci !== 'false' && ci !== '0') {
    throw new Error(`${how} rewrites test vectors from the code under test: refused in CI (CI=${ci})`);
  }
}

/** UPDATE_VECTORS set: the vector tests rewrite their file first (refused in CI). */
export function updatingVectors(): boolean {
  if (!process.env.UPDATE_VECTORS) return false;
  assertMayRewriteVectors('UPDATE_VECTORS');
  return true;
}
