// `file`: files (POSIX paths in the simulator).
declare module 'file' {
  class File {
    /** opens `path` for reading, or for reading and writing (created if absent) when `write` */
    constructor(path: string, write?: boolean);
    read(type: typeof ArrayBuffer, bytes?: number): ArrayBuffer;
    read(type: typeof String, bytes?: number): string;
    write(...data: (ArrayBuffer | ArrayBufferView | string)[]): void;
    close(): void;
    readonly length: number;
    position: number;
    static exists(path: string): boolean;
    static delete(path: string): boolean;
    static rename(from: string, to: string): boolean;
  }
  class Directory {
    static create(path: string): void;
    static delete(path: string): void;
  }
  export { File, Directory };
}
