/**
 * A small HTTP/1.1 server connection over a ByteStream: one request per
 * connection (the response says `Connection: close`), bodies by Content-Length
 * only, strict limits. It is what the doorbell's setup endpoint needs and no
 * more; the routing and the answers are the handler's (setup-http.ts).
 */
import { utf8Decode, utf8ToBytes } from '../bytes.js';
import { ReadBuffer, WriteQueue, type ByteStream, type ByteStreamEvents } from './byte-stream.js';

export interface HttpHead {
  method: string;
  /** the request target as sent, e.g. "/setup" */
  path: string;
  /** lower-case names; repeated headers joined with ", " */
  headers: Map<string, string>;
  /** the body length the client declared (0 when it declared none) */
  contentLength: number;
}

export interface HttpResponse {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array;
}

export interface HttpHandler {
  /** Called when the head is in: a response refuses the request before its body is read. */
  check(head: HttpHead): HttpResponse | undefined;
  /** The whole request is in. Exceptions become a 500 with no details. */
  respond(head: HttpHead, body: Uint8Array): HttpResponse;
}

export interface HttpLimits {
  /** request line + headers, bytes (default 4096) */
  maxHead?: number;
  /** the largest body read at all, even to refuse it politely (default 65536) */
  maxBody?: number;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  411: 'Length Required',
  413: 'Content Too Large',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

/** The bytes of a response; `Content-Length` and `Connection: close` are always set. */
export function formatResponse(r: HttpResponse): Uint8Array {
  const body = r.body ?? new Uint8Array(0);
  let head = `HTTP/1.1 ${r.status} ${REASONS[r.status] ?? 'Status'}\r\n`;
  for (const [name, value] of Object.entries(r.headers ?? {})) {
    if (/[\r\n]/.test(name + value)) throw new RangeError('header with a line break');
    head += `${name}: ${value}\r\n`;
  }
  head += `content-length: ${body.length}\r\nconnection: close\r\n\r\n`;
  const headBytes = utf8ToBytes(head);
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Parses a request head (without the blank line); a response when it is not acceptable. */
export function parseHead(text: string): HttpHead | HttpResponse {
  const lines = text.split('\r\n');
  const m = /^([A-Z]{1,16}) (\/[!-~]*) HTTP\/1\.[01]$/.exec(lines[0]);
  if (!m) return { status: 400 };
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).toLowerCase() : '';
    if (!TOKEN.test(name)) return { status: 400 };
    const value = line.slice(colon + 1).trim();
    const had = headers.get(name);
    headers.set(name, had === undefined ? value : `${had}, ${value}`);
  }
  if (headers.has('transfer-encoding')) return { status: 501 };
  const declared = headers.get('content-length');
  let contentLength = 0;
  if (declared !== undefined) {
    if (!/^\d{1,9}$/.test(declared)) return { status: 400 };
    contentLength = Number(declared);
  } else if (m[1] === 'POST' || m[1] === 'PUT') {
    return { status: 411 };
  }
  return { method: m[1], path: m[2], headers, contentLength };
}

const isResponse = (x: HttpHead | HttpResponse): x is HttpResponse => 'status' in x;

type Phase = 'head' | 'body' | 'drain' | 'responding' | 'closed';

/**
 * One connection: reads one request, answers it, closes. Refusals that come
 * before the body (404, 413, …) still read a declared body of up to `maxBody`
 * bytes first, so that the client sees the answer rather than a reset.
 */
export class HttpConnection implements ByteStreamEvents {
  private readonly input = new ReadBuffer();
  private readonly output = new WriteQueue();
  private phase: Phase = 'head';
  private head: HttpHead | undefined;
  private pendingResponse: HttpResponse | undefined;
  private stream: ByteStream | undefined;
  private readonly maxHead: number;
  private readonly maxBody: number;

  constructor(
    private readonly handler: HttpHandler,
    limits: HttpLimits = {},
    /** called once the connection is over, e.g. to forget it */
    private readonly onDone?: () => void,
  ) {
    this.maxHead = limits.maxHead ?? 4096;
    this.maxBody = limits.maxBody ?? 65536;
  }

  /** The stream this connection reads and writes; set before any event arrives. */
  attach(stream: ByteStream): void {
    this.stream = stream;
  }

  get done(): boolean {
    return this.phase === 'closed';
  }

  onConnect(): void {}

  onData(bytes: Uint8Array): void {
    if (this.phase === 'closed' || this.phase === 'responding') return;
    this.input.append(bytes);
    this.advance();
  }

  onWritable(): void {
    if (this.phase === 'responding') this.flush();
  }

  onClose(): void {
    this.finish(false);
  }

  /** Ends the connection now (e.g. a timeout), answering 408 if nothing was answered yet. */
  timeout(): void {
    if (this.phase === 'head' || this.phase === 'body') this.reply({ status: 408 });
    else this.finish(true);
  }

  private advance(): void {
    if (this.phase === 'head') {
      const end = this.input.indexOfHeaderEnd();
      if (end < 0) {
        if (this.input.length > this.maxHead) this.reply({ status: 431 });
        return;
      }
      if (end > this.maxHead) return this.reply({ status: 431 });
      let text: string;
      try {
        text = utf8Decode(this.input.take(end));
      } catch {
        return this.reply({ status: 400 });
      }
      this.input.skip(4);
      const head = parseHead(text);
      if (isResponse(head)) return this.reply(head);
      this.head = head;
      let refusal: HttpResponse | undefined;
      try {
        refusal = this.handler.check(head);
      } catch {
        refusal = { status: 500 };
      }
      if (refusal) {
        // Read (and drop) a modest body before answering, so the client gets the answer.
        if (head.contentLength === 0 || head.contentLength > this.maxBody) return this.reply(refusal);
        this.pendingResponse = refusal;
        this.phase = 'drain';
      } else if (head.contentLength > this.maxBody) {
        return this.reply({ status: 413 });
      } else {
        this.phase = 'body';
      }
    }
    const head = this.head!;
    if (this.input.length < head.contentLength) return;
    if (this.input.length > head.contentLength) return this.reply({ status: 400 }); // pipelining: not spoken here
    const body = this.input.take(head.contentLength);
    if (this.phase === 'drain') return this.reply(this.pendingResponse!);
    let response: HttpResponse;
    try {
      response = this.handler.respond(head, body);
    } catch {
      response = { status: 500 };
    }
    this.reply(response);
  }

  private reply(r: HttpResponse): void {
    this.phase = 'responding';
    this.output.push(formatResponse(r));
    this.flush();
  }

  private flush(): void {
    if (!this.stream) return;
    if (this.output.flush(this.stream)) this.finish(true);
  }

  private finish(closeStream: boolean): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.output.clear();
    if (closeStream) this.stream?.close();
    this.onDone?.();
  }
}
