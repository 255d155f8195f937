/**
 * Wi-Fi through the SDK's `wifi` module: a station that keeps itself connected
 * (reconnecting with backoff), and the temporary access point the setup flow
 * opens for the owner's phone.
 */
import WiFi from 'wifi';
import Net from 'net';
import Timer from 'timer';
/** Reconnect delays: 1 s doubling to 60 s. */
export function backoff(attempt) {
    return Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));
}
export class WifiStation {
    o;
    monitor;
    timer;
    attempts = 0;
    online_ = false;
    constructor(o) {
        this.o = o;
        this.monitor = new WiFi({ ssid: o.ssid, password: o.password }, (message) => this.event(message));
        o.log(`wifi: connecting to "${o.ssid}"`);
    }
    get online() {
        return this.online_;
    }
    event(message) {
        if (message === WiFi.gotIP) {
            this.attempts = 0;
            this.online_ = true;
            const ip = Net.get('IP', 'station') ?? Net.get('IP') ?? 'no address';
            this.o.log(`wifi: online, ${ip}`);
            this.o.onOnline?.(ip);
        }
        else if (message === WiFi.disconnected || message === WiFi.lostIP) {
            const was = this.online_;
            this.online_ = false;
            if (was)
                this.o.onOffline?.();
            this.retry();
        }
    }
    retry() {
        if (this.timer || !this.monitor)
            return;
        const wait = backoff(this.attempts++);
        this.o.log(`wifi: disconnected; retrying in ${wait / 1000} s`);
        this.timer = Timer.set(() => {
            this.timer = undefined;
            WiFi.connect({ ssid: this.o.ssid, password: this.o.password });
        }, wait);
    }
    close() {
        if (this.timer)
            Timer.clear(this.timer);
        this.timer = undefined;
        this.monitor?.close();
        this.monitor = undefined;
        WiFi.disconnect();
    }
}
/** The temporary access point of the setup flow. */
export class AccessPoint {
    log;
    open_ = false;
    constructor(log) {
        this.log = log;
    }
    get open() {
        return this.open_;
    }
    start(o) {
        if (o.password !== undefined && (o.password.length < 8 || o.password.length > 63)) {
            throw new RangeError('access point password must be 8–63 characters');
        }
        // Only the properties that are set: the ESP32 module takes a present `password`
        // (even undefined) as the passphrase. A variable, not a literal: the SDK's
        // typings omit `station`, which the module accepts.
        const options = { ssid: o.ssid, max: o.max ?? 1, channel: o.channel ?? 1 };
        if (o.password !== undefined)
            options.password = o.password;
        if (o.hidden !== undefined)
            options.hidden = o.hidden;
        if (o.station !== undefined)
            options.station = o.station;
        WiFi.accessPoint(options);
        this.open_ = true;
        const ip = Net.get('IP', 'ap');
        this.log(`wifi: access point "${o.ssid}" open at ${ip}`);
        return ip;
    }
    stop(keepStation = true) {
        if (!this.open_)
            return;
        WiFi.mode = keepStation ? WiFi.Mode.station : WiFi.Mode.none;
        this.open_ = false;
        this.log('wifi: access point closed');
    }
}
/** Wi-Fi as the app sees it on a device: the setup access point and the owner's network. */
export class DeviceNetwork {
    log;
    station;
    ap;
    constructor(log) {
        this.log = log;
        this.ap = new AccessPoint(log);
    }
    radio = false;
    /**
     * True once the radio runs: from then on ESP-IDF's esp_fill_random() is a true RNG
     * (before it, only pseudo-random). The app makes no key before (AppHost.rng).
     */
    get radioOn() {
        return this.radio;
    }
    /** Starts the radio in station mode without joining any network (esp_wifi_start). */
    powerRadio() {
        if (this.radio)
            return;
        WiFi.mode = WiFi.Mode.station;
        this.radio = true;
        this.log('wifi: radio on (hardware RNG seeded by RF noise)');
    }
    openAccessPoint(ssid) {
        this.radio = true;
        // A doorbell already on the owner's network keeps it while setup is open (re-setup).
        this.ap.start({ ssid, station: this.station !== undefined });
    }
    closeAccessPoint() {
        this.ap.stop(this.station !== undefined);
    }
    join(wifi, events) {
        this.leave();
        this.radio = true;
        this.station = new WifiStation({
            ssid: wifi.ssid,
            password: wifi.password || undefined,
            log: this.log,
            onOnline: () => events.onOnline(),
            onOffline: () => events.onOffline(),
        });
    }
    leave() {
        this.station?.close();
        this.station = undefined;
    }
}
//# sourceMappingURL=wifi.js.map