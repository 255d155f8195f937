/**
 * The QEMU board's button on the serial console (hosts/moddable/console-commands.ts): whole
 * lines `press`, `long`, `motion` are commands, however the UART splits them; anything else,
 * an empty line included, rings nothing.
 */
import assert from 'node:assert/strict';
import { consoleCommands } from '../hosts/moddable/console-commands.js';

describe('QEMU board: button commands on the serial console', () => {
  it('a typed line is a command once its line ends', () => {
    const c = consoleCommands();
    assert.deepEqual(c.push('pre'), []);
    assert.deepEqual(c.push('ss'), []);
    assert.deepEqual(c.push('\r\n'), ['press']);
    assert.deepEqual(c.push('long\nmotion\n'), ['long', 'motion']);
  });

  it('trims and ignores case; CR, LF and CRLF all end a line', () => {
    const c = consoleCommands();
    assert.deepEqual(c.push('  PRESS \rLong\r\nmotion\n'), ['press', 'long', 'motion']);
  });

  it('empty lines, other words and overlong junk ring nothing', () => {
    const c = consoleCommands();
    assert.deepEqual(c.push('\n\r\n   \nhello\npresss\nreboot\n'), []);
    assert.deepEqual(c.push('x'.repeat(100)), []);
    assert.deepEqual(c.push('press\n'), []); // the end of the overlong line, not a command
    assert.deepEqual(c.push('press\n'), ['press']);
  });

  it('nothing typed, nothing reported', () => {
    assert.deepEqual(consoleCommands().push(''), []);
  });
});
