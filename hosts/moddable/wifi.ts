/**
 * Wi-Fi through the SDK's `wifi` module: a station that keeps itself connected
 * (reconnecting with backoff), and the temporary access point the setup flow
 * opens for the owner's phone.
 */
import WiFi from 'wifi';
import Net from 'net';
import Timer from 'timer';
import type { Log } from '../../src/host.js';
import type { WifiCredentials } from '../../src/setup/records.js';
import type { AppNetwork } from '../../src/app/host.js';

export interface StationOptions {
  ssid: string;
  password?: string;
  log: Log;
  /** got an IP address */
  onOnline?(ip: string): void;
  /** lost the connection (a reconnect is already scheduled) */
  onOffline?(): void;
}

/** Reconnect delays: 1 s doubling to 60 s. */
export function backoff(attempt: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6));
}

export class WifiStation {
  private monitor: WiFi | undefined;
  private timer: Timer | undefined;
  private attempts = 0;
  private online_ = false;

  constructor(private readonly o: StationOptions) {
    this.monitor = new WiFi({ ssid: o.ssid, password: o.password }, (message) => this.event(message));
    o.log(`wifi: connecting to "${o.ssid}"`);
  }

  get online(): boolean {
    return this.online_;
  }

  private event(message: string): void {
    if (message === WiFi.gotIP) {
      this.attempts = 0;
      this.online_ = true;
      const ip = Net.get('IP', 'station') ?? Net.get('IP') ?? 'no address';
      this.o.log(`wifi: online, ${ip}`);
      this.o.onOnline?.(ip);
    } else if (message === WiFi.disconnected || message === WiFi.lostIP) {
      const was = this.online_;
      this.online_ = false;
      if (was) this.o.onOffline?.();
      this.retry();
    }
  }

  private retry(): void {
    if (this.timer || !this.monitor) return;
    const wait = backoff(this.attempts++);
    this.o.log(`wifi: disconnected; retrying in ${wait / 1000} s`);
    this.timer = Timer.set(() => {
      this.timer = undefined;
      WiFi.connect({ ssid: this.o.ssid, password: this.o.password });
    }, wait);
  }

  close(): void {
    if (this.timer) Timer.clear(this.timer);
    this.timer = undefined;
    this.monitor?.close();
    this.monitor = undefined;
    WiFi.disconnect();
  }
}

export interface AccessPointOptions {
  ssid: string;
  /** WPA2 passphrase (8–63 characters); none gives an open network */
  password?: string;
  channel?: number;
  hidden?: boolean;
  /** most stations at once; setup needs one phone */
  max?: number;
  /** keep the station interface up as well */
  station?: boolean;
}

/** The temporary access point of the setup flow. */
export class AccessPoint {
  private open_ = false;

  constructor(private readonly log: Log) {}

  get open(): boolean {
    return this.open_;
  }

  start(o: AccessPointOptions): string | undefined {
    if (o.password !== undefined && (o.password.length < 8 || o.password.length > 63)) {
      throw new RangeError('access point password must be 8–63 characters');
    }
    // Only the properties that are set: the ESP32 module takes a present `password`
    // (even undefined) as the passphrase. A variable, not a literal: the SDK's
    // typings omit `station`, which the module accepts.
    const options: AccessPointOptions = { ssid: o.ssid, max: o.max ?? 1, channel: o.channel ?? 1 };
    if (o.password !== undefined) options.password = o.password;
    if (o.hidden !== undefined) options.hidden = o.hidden;
    if (o.station !== undefined) options.station = o.station;
    WiFi.accessPoint(options);
    this.open_ = true;
    const ip = Net.get('IP', 'ap');
    this.log(`wifi: access point "${o.ssid}" open at ${ip}`);
    return ip;
  }

  stop(keepStation = true): void {
    if (!this.open_) return;
    WiFi.mode = keepStation ? WiFi.Mode.station : WiFi.Mode.none;
    this.open_ = false;
    this.log('wifi: access point closed');
  }
}

/** Wi-Fi as the app sees it on a device: the setup access point and the owner's network. */
export class DeviceNetwork implements AppNetwork {
  private station: WifiStation | undefined;
  private readonly ap: AccessPoint;

  constructor(private readonly log: Log) {
    this.ap = new AccessPoint(log);
  }

  private radio = false;

  /**
   * True once the radio runs: from then on ESP-IDF's esp_fill_random() is a true RNG
   * (before it, only pseudo-random). The app makes no key before (AppHost.rng).
   */
  get radioOn(): boolean {
    return this.radio;
  }

  /** Starts the radio in station mode without joining any network (esp_wifi_start). */
  powerRadio(): void {
    if (this.radio) return;
    WiFi.mode = WiFi.Mode.station;
    this.radio = true;
    this.log('wifi: radio on (hardware RNG seeded by RF noise)');
  }

  openAccessPoint(ssid: string): void {
    this.radio = true;
    // A doorbell already on the owner's network keeps it while setup is open (re-setup).
    this.ap.start({ ssid, station: this.station !== undefined });
  }

  closeAccessPoint(): void {
    this.ap.stop(this.station !== undefined);
  }

  join(wifi: WifiCredentials, events: { onOnline(): void; onOffline(): void }): void {
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

  leave(): void {
    this.station?.close();
    this.station = undefined;
  }
}
