// `timer`: callbacks after a delay and/or repeatedly.
declare module 'timer' {
  class Timer {
    private constructor();
    private readonly timerBrand: true;
    /** once after `interval` ms (immediately without one); repeating every `repeat` ms if given */
    static set(callback: (timer: Timer) => void, interval?: number, repeat?: number): Timer;
    static repeat(callback: (timer: Timer) => void, interval: number): Timer;
    /** new intervals; without any, the timer is unscheduled until scheduled again */
    static schedule(timer: Timer, interval?: number, repeat?: number): void;
    static clear(timer: Timer | undefined | null): void;
    static delay(ms: number): void;
  }
  export default Timer;
}
