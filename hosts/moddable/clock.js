/**
 * The device clock: UTC time from SNTP (the SDK's `sntp` module) once on
 * Wi-Fi; until then the monotonic count since boot, offset to the last time
 * the device knew (saved in the store at each sync), so clip ids keep
 * increasing across reboots. See clock-state.ts.
 */
import SNTP from 'sntp';
import Time from 'time';
import { readUintBE, writeUintBE } from '../../src/bytes.js';
import { ClockState } from './clock-state.js';
const LAST_SYNC_KEY = 'clock.lastsync';
const DEFAULT_SERVERS = ['pool.ntp.org', 'time.google.com', 'time.cloudflare.com'];
export class Clock {
    store;
    log;
    state;
    sntp;
    constructor(store, log) {
        this.store = store;
        this.log = log;
        const saved = store.get(LAST_SYNC_KEY);
        const floor = saved && saved.length === 6 ? readUintBE(saved, 0, 6) : 0;
        this.state = new ClockState(Date.now(), floor);
    }
    /** ms since the Unix epoch (best known; see `synced`). */
    now() {
        return this.state.now(Date.now());
    }
    get synced() {
        return this.state.synced;
    }
    /** Asks SNTP for the time (needs the network); tries each server in turn. */
    sync(servers = DEFAULT_SERVERS, onDone) {
        if (this.sntp || servers.length === 0)
            return;
        const queue = servers.slice(1);
        this.sntp = new SNTP({ host: servers[0] }, (message, value) => {
            if (message === SNTP.time && typeof value === 'number') {
                Time.set(value);
                this.state.synchronized();
                this.sntp = undefined;
                const saved = new Uint8Array(6);
                writeUintBE(saved, 0, value * 1000, 6);
                try {
                    this.store.set(LAST_SYNC_KEY, saved);
                }
                catch (e) {
                    this.log(`clock: could not save the time: ${String(e)}`);
                }
                this.log(`clock: synchronized, ${new Date(value * 1000).toISOString()}`);
                onDone?.(true);
            }
            else if (message === SNTP.error) {
                const next = queue.shift();
                if (next)
                    return next; // the SNTP client tries the next server
                this.sntp = undefined;
                this.log('clock: SNTP failed; keeping the monotonic clock');
                onDone?.(false);
            }
            return undefined;
        });
    }
}
//# sourceMappingURL=clock.js.map