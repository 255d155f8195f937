// `Resource`: read-only data built into the app (flash on devices), as a host buffer.
declare module 'Resource' {
  class Resource extends HostBuffer {
    constructor(name: string);
    static exists(name: string): boolean;
    slice(begin: number, end?: number): ArrayBuffer;
  }
  export default Resource;
}
