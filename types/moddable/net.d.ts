// `net`: state of the network connection.
declare module 'net' {
  const Net: {
    /** undefined when there is no connection */
    get(property: 'IP' | 'MAC', iface?: 'station' | 'ap' | 'ethernet'): string | undefined;
    get(property: 'SSID' | 'BSSID'): string | undefined;
    get(property: 'RSSI' | 'CHANNEL'): number | undefined;
    get(property: 'DNS'): string[] | undefined;
    resolve(host: string, callback: (host: string, address?: string) => void): void;
  };
  export default Net;
}
