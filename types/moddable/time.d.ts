// `time`: the system clock and a millisecond tick counter.
declare module 'time' {
  const Time: {
    /** sets the system time, in seconds since 1970 (Unix time) */
    set(seconds: number): void;
    timezone: number;
    dst: number;
    /** ms counter for intervals; may wrap on devices (use delta) */
    readonly ticks: number;
    delta(start: number, end?: number): number;
  };
  export default Time;
}
