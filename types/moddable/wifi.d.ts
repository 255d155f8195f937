// `wifi`: station and access point control.
declare module 'wifi' {
  type WiFiMessage = 'connect' | 'gotIP' | 'lostIP' | 'disconnect' | 'station_connect' | 'station_disconnect';

  interface StationOptions {
    ssid: string;
    password?: string;
    bssid?: ArrayBuffer;
  }

  interface AccessPointOptions {
    ssid: string;
    /** none: an open network */
    password?: string;
    channel?: number;
    hidden?: boolean;
    /** beacon interval, ms */
    interval?: number;
    /** most stations at once */
    max?: number;
    /** keep station mode on as well */
    station?: boolean;
  }

  class WiFi {
    static readonly connected: 'connect';
    static readonly gotIP: 'gotIP';
    static readonly lostIP: 'lostIP';
    static readonly disconnected: 'disconnect';
    static readonly Mode: { readonly off: -5; readonly none: 0; readonly station: 1; readonly accessPoint: 2 };
    static mode: number;
    /** starts connecting; the callback follows the connection */
    constructor(options?: StationOptions, callback?: (message: WiFiMessage) => void);
    /** stops the callbacks (does not disconnect) */
    close(): void;
    static connect(options?: StationOptions): void;
    static disconnect(): void;
    static accessPoint(options: AccessPointOptions): void;
    static scan(options: { hidden?: boolean; channel?: number }, callback: (item: { ssid: string; rssi: number; authentication: string; bssid: ArrayBuffer } | null) => void): void;
  }
  export default WiFi;
}
