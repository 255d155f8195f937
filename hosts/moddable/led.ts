/**
 * The status LED on an ECMA-419 digital output, stepping through the pattern
 * of the current status (led-pattern.ts) with one timer.
 */
import Digital from 'embedded:io/digital';
import Timer from 'timer';
import { PATTERNS, PatternCursor } from './led-pattern.js';
import type { LedStatus, StatusLight } from './types.js';

export class StatusLed implements StatusLight {
  private digital: Digital | undefined;
  private timer: Timer | undefined;
  private cursor = new PatternCursor(PATTERNS.off);
  private status: LedStatus = 'off';

  constructor(private readonly o: { pin: number; activeLow?: boolean }) {
    this.digital = new Digital({ pin: o.pin, mode: Digital.Output });
    this.write(false);
  }

  private write(on: boolean): void {
    this.digital?.write(on === !(this.o.activeLow ?? false) ? 1 : 0);
  }

  show(status: LedStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.cursor = new PatternCursor(PATTERNS[status]);
    this.step();
  }

  private step(): void {
    this.write(this.cursor.on);
    if (this.cursor.steady) {
      if (this.timer) Timer.clear(this.timer);
      this.timer = undefined;
      return;
    }
    const wait = this.cursor.duration;
    this.cursor.next();
    if (this.timer) Timer.schedule(this.timer, wait);
    else {
      this.timer = Timer.set(() => {
        this.timer = undefined;
        this.step();
      }, wait);
    }
  }

  close(): void {
    if (this.timer) Timer.clear(this.timer);
    this.timer = undefined;
    this.write(false);
    this.digital?.close();
    this.digital = undefined;
  }
}
