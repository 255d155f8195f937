// `socket`: TCP sockets (the SDK's original networking API, on lwIP on ESP32, on BSD sockets in the simulator).
declare module 'socket' {
  /** callback messages: connected, bytes readable, room to write, disconnected, error */
  type SocketMessage = 1 | 2 | 3 | -1 | -2;

  class Socket {
    /** a client connection to `host` (resolved by DNS) or `address`, or a connection a Listener accepted */
    constructor(options: { host?: string; address?: string; port?: number } | { listener: Listener });
    /** `value`: bytes readable (2) or bytes that can be written now (3) */
    callback: (message: SocketMessage, value?: number) => void;
    /** all bytes received so far, or undefined when there are none */
    read(type: typeof ArrayBuffer): ArrayBuffer | undefined;
    /** bytes that can be written now */
    write(): number;
    /** throws when the data does not fit (see `write()`) */
    write(...data: (string | number | ArrayBuffer | ArrayBufferView)[]): void;
    close(): void;
    static readonly connected: 1;
    static readonly readable: 2;
    static readonly writable: 3;
    static readonly disconnected: -1;
    static readonly error: -2;
  }

  class Listener {
    constructor(options: { port: number });
    /** a connection is waiting: accept it with `new Socket({ listener })` */
    callback: () => void;
    close(): void;
  }

  export { Socket, Listener };
}
