/**
 * The status LED on an ECMA-419 digital output, stepping through the pattern
 * of the current status (led-pattern.ts) with one timer.
 */
import Digital from 'embedded:io/digital';
import Timer from 'timer';
import { PATTERNS, PatternCursor } from './led-pattern.js';
export class StatusLed {
    o;
    digital;
    timer;
    cursor = new PatternCursor(PATTERNS.off);
    status = 'off';
    constructor(o) {
        this.o = o;
        this.digital = new Digital({ pin: o.pin, mode: Digital.Output });
        this.write(false);
    }
    write(on) {
        this.digital?.write(on === !(this.o.activeLow ?? false) ? 1 : 0);
    }
    show(status) {
        if (status === this.status)
            return;
        this.status = status;
        this.cursor = new PatternCursor(PATTERNS[status]);
        this.step();
    }
    step() {
        this.write(this.cursor.on);
        if (this.cursor.steady) {
            if (this.timer)
                Timer.clear(this.timer);
            this.timer = undefined;
            return;
        }
        const wait = this.cursor.duration;
        this.cursor.next();
        if (this.timer)
            Timer.schedule(this.timer, wait);
        else {
            this.timer = Timer.set(() => {
                this.timer = undefined;
                this.step();
            }, wait);
        }
    }
    close() {
        if (this.timer)
            Timer.clear(this.timer);
        this.timer = undefined;
        this.write(false);
        this.digital?.close();
        this.digital = undefined;
    }
}
//# sourceMappingURL=led.js.map