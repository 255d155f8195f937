/**
 * The QEMU board's button on the serial console (hosts/moddable/console-commands.ts): whole
 * lines `press`, `long`, `motion` are commands, however the UART splits them; anything else,
 * an empty line included, rings nothing. A relay on the host's loopback is dialled at 10.0.2.2.
 */
import assert from 'node:assert/strict';
import { consoleCommands } from '../hosts/moddable/console-commands.js';
import { qemuRelayHost } from '../hosts/moddable/qemu-route.js';

describe('QEMU board: button commands on the serial console', () => {
  it('a typed line is a command once its line ends', () => {
    const c = consoleCommands();
    assert.deepEqual(c.push('pre'), []);
    assert.deepEqual(c.push('ss'), []);
    assert.deepEqual(c.push('\r\n'), ['press']);
    assert.deepEqual(c.push('long\nmotion\n'), ['long', 'motion']);
    assert.deepEqual(c.push('walk-by\n'), ['walk-by']);
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

describe('QEMU board: the relay on the host', () => {
  it("the host's loopback (127.0.0.1, localhost) is dialled at 10.0.2.2, other hosts as given", () => {
    assert.equal(qemuRelayHost('127.0.0.1'), '10.0.2.2');
    assert.equal(qemuRelayHost('127.0.1.1'), '10.0.2.2');
    assert.equal(qemuRelayHost('localhost'), '10.0.2.2');
    assert.equal(qemuRelayHost('relay.example.org'), 'relay.example.org');
    assert.equal(qemuRelayHost('10.0.2.2'), '10.0.2.2');
    assert.equal(qemuRelayHost('127.0.0.1.example.org'), '127.0.0.1.example.org');
  });
});
