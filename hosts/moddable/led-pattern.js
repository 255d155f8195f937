/** Alternating durations, starting with "on"; a single entry means steady (0 = off, >0 = on). */
export const PATTERNS = {
    off: [0],
    booting: [100, 100],
    idle: [60, 2940],
    recording: [1],
    setup: [250, 250],
    offline: [60, 240, 60, 2640],
    error: [60, 140, 60, 140, 60, 1540],
};
/** Steps through a pattern: the level now and how long to keep it. */
export class PatternCursor {
    pattern;
    i = 0;
    constructor(pattern) {
        this.pattern = pattern;
        if (pattern.length === 0)
            throw new RangeError('empty LED pattern');
    }
    /** A steady pattern needs no timer. */
    get steady() {
        return this.pattern.length === 1;
    }
    /** The level of the current step (true = lit). */
    get on() {
        return this.steady ? this.pattern[0] > 0 : this.i % 2 === 0;
    }
    /** How long the current step lasts (ms); Infinity for a steady pattern. */
    get duration() {
        return this.steady ? Infinity : this.pattern[this.i];
    }
    next() {
        if (!this.steady)
            this.i = (this.i + 1) % this.pattern.length;
    }
}
//# sourceMappingURL=led-pattern.js.map