// `sntp`: an SNTP client (RFC 4330).
declare module 'sntp' {
  /** -1 error (value: reason), 1 time (value: seconds since 1970), 2 retrying */
  type SNTPMessage = -1 | 1 | 2;
  class SNTP {
    static readonly error: -1;
    static readonly time: 1;
    static readonly retry: 2;
    /** On error the callback may return another server's host name to try. */
    constructor(options: { host: string }, callback: (message: SNTPMessage, value?: number | string) => string | void);
    close(): void;
  }
  export default SNTP;
}
