/**
 * The object of a JSON text control message of one family (updates, settings), or undefined
 * for any other message: the general parser (wire.ts) judges those. `markers` is a cheap
 * substring test first, since most messages are clip traffic; over `max` characters is
 * `tooLarge()`.
 */
export function controlObject(text: string | Uint8Array, markers: readonly string[], types: readonly string[], max: number, tooLarge: () => never): Record<string, unknown> | undefined {
  if (typeof text !== 'string' || !markers.some((m) => text.indexOf(m) >= 0)) return undefined;
  if (text.length > max) return tooLarge();
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch {
    return undefined; // not ours to judge: the general parser reports it
  }
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return undefined;
  const o = m as Record<string, unknown>;
  return typeof o.t === 'string' && types.includes(o.t) ? o : undefined;
}
