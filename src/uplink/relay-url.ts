/**
 * Where the uplink connects, from the relay URL that setup stored
 * (`http(s)://host[:port][/base]`, checked by the core's checkRelayUrl): the
 * relay's WebSocket endpoint `<base>/v1/uplink`, over TLS for https/wss.
 * Written without `URL`, which the Moddable runtime does not have.
 */
import { SealbellError } from '../errors.js';

export interface UplinkEndpoint {
  secure: boolean;
  /** host name or address, without brackets for IPv6 */
  host: string;
  port: number;
  /** e.g. "/v1/uplink" */
  path: string;
  /** the Host header value */
  hostHeader: string;
  /** ws(s)://…/v1/uplink, for logs */
  url: string;
}

export function uplinkEndpoint(relayUrl: string): UplinkEndpoint {
  const m = /^(https?|wss?):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/[!-~]*)?$/.exec(relayUrl);
  if (!m) throw new SealbellError('RELAY_URL', 'the relay URL is not an http(s) or ws(s) URL with a host');
  const secure = m[1] === 'https' || m[1] === 'wss';
  const port = m[3] === undefined ? (secure ? 443 : 80) : Number(m[3]);
  if (port < 1 || port > 65535) throw new SealbellError('RELAY_URL', 'the relay URL has no valid port');
  let base = (m[4] ?? '/').replace(/[?#].*$/, '');
  if (!base.endsWith('/')) base += '/';
  const path = `${base}v1/uplink`;
  const host = m[2].startsWith('[') ? m[2].slice(1, -1) : m[2];
  const hostHeader = m[3] === undefined ? m[2] : `${m[2]}:${port}`;
  return { secure, host, port, path, hostHeader, url: `${secure ? 'wss' : 'ws'}://${hostHeader}${path}` };
}
