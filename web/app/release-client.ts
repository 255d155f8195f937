/**
 * The page's side of release pinning (web/sw/sw.ts): registers the service worker and asks
 * it, on every start, to look for an update; reports the release running and any refusal.
 */
export interface ReleaseStatus {
  running?: string;
  signed: boolean;
  refused?: string;
}

/** Asks the active worker to check for an update; resolves with what it says. */
export async function releaseStatus(): Promise<ReleaseStatus> {
  const reg = await navigator.serviceWorker.ready;
  const worker = reg.active!;
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = (ev) => resolve(ev.data as ReleaseStatus);
    worker.postMessage({ t: 'check' }, [ch.port2]);
  });
}

export async function registerWorker(onStatus: (s: ReleaseStatus) => void): Promise<void> {
  if (!('serviceWorker' in navigator)) return;
  await navigator.serviceWorker.register('sw.js', { type: 'module', scope: './', updateViaCache: 'all' });
  onStatus(await releaseStatus());
}
