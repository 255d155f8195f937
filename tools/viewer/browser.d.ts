// The few browser APIs the viewer's page script uses (tools/viewer/app.ts). Declared
// here rather than with lib "dom", whose `crypto` clashes with the core's own
// declaration (src/crypto/noble.ts). Checked by tsconfig.viewer.json only.
interface ViewerElement {
  textContent: string | null;
  value: string;
  dataset: Record<string, string>;
  onclick: (() => void) | null;
  appendChild(child: ViewerElement): void;
}
interface ViewerCanvas extends ViewerElement {
  width: number;
  height: number;
  getContext(kind: '2d'): { drawImage(image: ViewerBitmap, x: number, y: number): void } | null;
}
interface ViewerBitmap {
  width: number;
  height: number;
  close(): void;
}
declare const document: {
  getElementById(id: string): ViewerElement | null;
  createElement(tag: string): ViewerElement;
};
declare const location: { protocol: string; host: string; search: string };
declare class URLSearchParams {
  constructor(init: string);
  get(name: string): string | null;
}
declare class Blob {
  constructor(parts: Uint8Array[], options?: { type?: string });
}
declare function createImageBitmap(blob: Blob): Promise<ViewerBitmap>;
declare function setTimeout(fn: (value?: unknown) => void, ms: number): unknown;
interface Response {
  ok: boolean;
  status: number;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}
declare function fetch(url: string, init?: { method?: string; headers?: Record<string, string>; body?: string }): Promise<Response>;
declare class WebSocket {
  constructor(url: string, protocols?: string[]);
  binaryType: string;
  onmessage: ((ev: { data: string | ArrayBuffer }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}
