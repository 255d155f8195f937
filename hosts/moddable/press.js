/**
 * Button press detection, pure: fed the pin's level changes and the time, it
 * reports debounced presses, long presses and releases. The binding (inputs.ts)
 * feeds it from `onReadable` and arms a timer for `deadline()` so a long press
 * is reported while the button is still held.
 *
 * - `press` fires on the debounced down edge, at once: a doorbell must start
 *   recording when pressed, not when released.
 * - `long` fires once per press when held for `longPressMs`.
 * - `release` fires on the debounced up edge with how long it was held.
 * Edges closer than `debounceMs` to the last accepted edge are contact bounce
 * and ignored; an up edge that undoes a bounce is ignored too.
 */
export class PressDetector {
    debounceMs;
    longPressMs;
    down = false;
    downAt = 0;
    lastEdge = -Infinity;
    longSent = false;
    constructor(o = {}) {
        this.debounceMs = o.debounceMs ?? 30;
        this.longPressMs = o.longPressMs ?? 5000;
    }
    get pressed() {
        return this.down;
    }
    /** The pin now reads `pressed` (already corrected for active-low) at time `now` (ms). */
    level(pressed, now) {
        const events = this.tick(now);
        if (pressed === this.down)
            return events;
        if (now - this.lastEdge < this.debounceMs)
            return events;
        this.lastEdge = now;
        this.down = pressed;
        if (pressed) {
            this.downAt = now;
            this.longSent = false;
            events.push({ type: 'press', time: now });
        }
        else {
            events.push({ type: 'release', time: now, held: now - this.downAt });
        }
        return events;
    }
    /** Time passes: reports a long press once it is due. */
    tick(now) {
        if (this.down && !this.longSent && now - this.downAt >= this.longPressMs) {
            this.longSent = true;
            return [{ type: 'long', time: now }];
        }
        return [];
    }
    /** When `tick` next has something to report, or undefined if nothing is pending. */
    deadline() {
        return this.down && !this.longSent ? this.downAt + this.longPressMs : undefined;
    }
}
//# sourceMappingURL=press.js.map