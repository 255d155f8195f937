/**
 * hosts/moddable's button logic: a press is reported on the debounced down edge
 * at once, a long press once while still held, contact bounce is ignored.
 */
import assert from 'node:assert/strict';
import { PressDetector, type PressEvent } from '../hosts/moddable/press.js';

const types = (events: PressEvent[]) => events.map((e) => e.type);

describe('Moddable button: press detection', () => {
  it('reports the press on the down edge, before release', () => {
    const d = new PressDetector();
    assert.deepEqual(d.level(true, 1000), [{ type: 'press', time: 1000 }]);
    assert.equal(d.pressed, true);
    assert.deepEqual(d.level(false, 1200), [{ type: 'release', time: 1200, held: 200 }]);
    assert.equal(d.pressed, false);
  });

  it('ignores contact bounce within the debounce time', () => {
    const d = new PressDetector({ debounceMs: 30 });
    const events = [
      ...d.level(true, 1000),
      ...d.level(false, 1003),
      ...d.level(true, 1006),
      ...d.level(false, 1010),
      ...d.level(true, 1020),
    ];
    assert.deepEqual(types(events), ['press']);
    // The pin settled high (pressed) after the bounce, as the detector believes.
    assert.deepEqual(types(d.level(false, 1500)), ['release']);
    // Bounce on release is ignored too.
    assert.deepEqual(types([...d.level(true, 1505), ...d.level(false, 1510)]), []);
    assert.deepEqual(types(d.level(true, 2000)), ['press']);
  });

  it('repeated levels are not edges', () => {
    const d = new PressDetector();
    assert.deepEqual(types(d.level(false, 0)), []);
    assert.deepEqual(types(d.level(true, 100)), ['press']);
    assert.deepEqual(types(d.level(true, 200)), []);
  });

  it('reports a long press once, while held, when its deadline passes', () => {
    const d = new PressDetector({ longPressMs: 5000 });
    d.level(true, 10_000);
    assert.equal(d.deadline(), 15_000);
    assert.deepEqual(d.tick(14_999), []);
    assert.deepEqual(d.tick(15_000), [{ type: 'long', time: 15_000 }]);
    assert.equal(d.deadline(), undefined);
    assert.deepEqual(d.tick(20_000), []);
    assert.deepEqual(d.level(false, 21_000), [{ type: 'release', time: 21_000, held: 11_000 }]);
  });

  it('a short press has no long press; the deadline goes with the release', () => {
    const d = new PressDetector({ longPressMs: 5000 });
    d.level(true, 0);
    d.level(false, 800);
    assert.equal(d.deadline(), undefined);
    assert.deepEqual(d.tick(10_000), []);
  });

  it('a late edge still reports a due long press before the release', () => {
    const d = new PressDetector({ longPressMs: 5000 });
    d.level(true, 0);
    assert.deepEqual(types(d.level(false, 6000)), ['long', 'release']);
  });

  it('each press gets its own long press', () => {
    const d = new PressDetector({ longPressMs: 1000 });
    d.level(true, 0);
    assert.deepEqual(types(d.tick(1000)), ['long']);
    d.level(false, 1500);
    d.level(true, 3000);
    assert.deepEqual(types(d.tick(3999)), []);
    assert.deepEqual(types(d.tick(4000)), ['long']);
  });
});
