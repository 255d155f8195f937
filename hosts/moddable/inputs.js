/**
 * The doorbell button and the optional PIR sensor on ECMA-419 `embedded:io/digital`.
 * The button reports a press on its (debounced) down edge at once, and a long
 * press (setup mode) while still held, via a timer armed for the detector's
 * deadline. The PIR reports motion on its active edge.
 */
import Digital from 'embedded:io/digital';
import Time from 'time';
import Timer from 'timer';
import { PressDetector } from './press.js';
function inputMode(pin) {
    const pull = pin.pull ?? (pin.activeLow ? 'up' : 'none');
    return pull === 'up' ? Digital.InputPullUp : pull === 'down' ? Digital.InputPullDown : Digital.Input;
}
export class Button {
    o;
    digital;
    detector;
    timer;
    constructor(o) {
        this.o = o;
        this.detector = new PressDetector({ longPressMs: o.longPressMs, debounceMs: o.debounceMs });
        const activeLow = o.activeLow ?? false;
        const self = this;
        this.digital = new Digital({
            pin: o.pin,
            mode: inputMode(o),
            edge: Digital.Rising | Digital.Falling,
            onReadable() {
                self.dispatch(self.detector.level((this.read() === 0) === activeLow, Time.ticks));
            },
        });
    }
    dispatch(events) {
        for (const e of events) {
            if (e.type === 'press')
                this.o.onPress();
            else if (e.type === 'long')
                this.o.onLongPress?.();
            else
                this.o.onRelease?.(e.held);
        }
        this.arm();
    }
    /** Keeps one timer pending for the next long-press deadline. */
    arm() {
        const due = this.detector.deadline();
        if (due === undefined) {
            if (this.timer)
                Timer.clear(this.timer);
            this.timer = undefined;
            return;
        }
        const wait = Math.max(0, due - Time.ticks);
        if (this.timer)
            Timer.schedule(this.timer, wait);
        else {
            this.timer = Timer.set(() => {
                this.timer = undefined;
                this.dispatch(this.detector.tick(Time.ticks));
            }, wait);
        }
    }
    close() {
        if (this.timer)
            Timer.clear(this.timer);
        this.timer = undefined;
        this.digital?.close();
        this.digital = undefined;
    }
}
export class MotionSensor {
    digital;
    last = -Infinity;
    constructor(o) {
        const activeLow = o.activeLow ?? false;
        const holdoff = o.holdoffMs ?? 2000;
        const self = this;
        this.digital = new Digital({
            pin: o.pin,
            mode: inputMode(o),
            edge: activeLow ? Digital.Falling : Digital.Rising,
            onReadable() {
                if ((this.read() === 0) !== activeLow)
                    return;
                const now = Time.ticks;
                if (now - self.last < holdoff)
                    return;
                self.last = now;
                o.onMotion();
            },
        });
    }
    close() {
        this.digital?.close();
        this.digital = undefined;
    }
}
//# sourceMappingURL=inputs.js.map