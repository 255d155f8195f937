// README's "The commands", run as written: the shell block is read from README.md and
// each command runs through bash in a fresh folder, in order, as a newcomer types them.
// What a person does between the lines is done here too: answering the passphrase
// prompts, waiting for the clip to be recorded and uploaded, putting the clip id in for
// `<clip id>`. The only change to the text: the relay's port 8080, the setup port 8081 and
// the viewer's port become free ports, so the test cannot collide with anything on the machine.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ROOT, tempDir } from './helpers.js';
import { Running } from './cli-helpers.js';

interface Command {
  line: string;
  /** "terminal N": it keeps running */
  background: boolean;
}

/** The ```sh block under "## The commands", continuation lines joined. */
export function readmeCommands(readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')): Command[] {
  const section = readme.slice(readme.indexOf('## The commands'));
  const block = section.slice(section.indexOf('```sh') + 5, section.indexOf('```', section.indexOf('```sh') + 5));
  const lines = block.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter(Boolean);
  return lines.map((l) => {
    const comment = l.match(/\s+#\s.*$/)?.[0] ?? '';
    return { line: l.slice(0, l.length - comment.length).trim(), background: /terminal \d/.test(comment) };
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

describe("README's commands, as written", function () {
  this.timeout(600_000);
  const background: Running[] = [];
  after(async () => {
    for (const s of background) await s.stop();
  });

  it('run in order in a fresh folder: provision, relay, doorbell, init, setup, press, clips, fetch, watch, live, enroll, history, revoke, phone serve, long press', async () => {
    const commands = readmeCommands();
    assert.ok(commands.length >= 15, 'the block was found');
    const dir = tempDir('readme');
    // `npx sealbell` finds the command in the folder's node_modules/.bin, as in the repository.
    fs.mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'bin', 'sealbell.js'), path.join(dir, 'node_modules', '.bin', 'sealbell'));
    const relayPort = await freePort();
    const setupPort = await freePort();
    let passphrase = '';
    let clipId = '';
    let doorbell: Running | undefined;
    for (const c of commands) {
      let line = c.line.replaceAll('8080', String(relayPort)).replaceAll('127.0.0.1:8081', `127.0.0.1:${setupPort}`);
      if (/sealbell doorbell --state/.test(line)) line += ` --setup-port ${setupPort}`;
      if (/sealbell phone serve/.test(line)) line += ' --port 0'; // its default, 8090, may be taken on this machine
      line = line.replaceAll('<clip id>', clipId);
      const asks = /phone (setup|enroll|revoke)|--history/.test(line);
      const shell = new Running([], { shell: line, cwd: dir, input: asks ? `${passphrase}\n` : undefined });
      if (c.background) {
        background.push(shell);
        if (/ relay /.test(line)) await shell.wait(/relay: http/);
        else if (/doorbell --state/.test(line)) {
          doorbell = shell;
          await shell.wait(/setup endpoint: http/);
        } else if (/phone watch/.test(line)) await shell.wait(/watching/);
        else if (/phone serve/.test(line)) {
          const url = (await shell.wait(/phone serve: open (http:\/\/127\.0\.0\.1:\d+\S*)/))[1];
          assert.equal((await fetch(url)).status, 200);
        }
        continue;
      }
      const status = await shell.done();
      assert.equal(status, 0, `${c.line}\n${shell.out}`);
      if (/phone init/.test(line)) passphrase = shell.out.match(/^ {4}((?:[a-z]+ ){11}[a-z]+)$/m)![1];
      if (/phone setup/.test(line)) await doorbell!.wait(/connected to the relay/);
      if (/doorbell press/.test(line)) {
        clipId = shell.out.match(/clip ([0-9A-Za-z_-]+)/)![1];
        // a person waits for the clip: it is recorded (10 s), sealed and uploaded
        await doorbell!.wait(new RegExp(`clip ${clipId}: done`));
        const end = Date.now() + 120_000;
        for (;;) {
          const list = new Running([], { shell: 'npx sealbell phone clips --dir me', cwd: dir });
          await list.done();
          if (new RegExp(`${clipId}\\s+verified`).test(list.out)) break;
          assert.ok(Date.now() < end, `the clip never reached the relay: ${list.out}`);
          await new Promise((r) => setTimeout(r, 300));
        }
      }
      if (/phone clips/.test(line)) assert.match(shell.out, new RegExp(`${clipId}\\s+verified`));
      if (/phone live/.test(line)) assert.match(shell.out, /live: [1-9]\d* frames decrypted into/);
      if (/phone enroll/.test(line)) await doorbell!.wait(/roster epoch 2: 2 phone\(s\)/);
      if (/doorbell long-press/.test(line)) assert.match(shell.out, /setup open/);
    }
    assert.ok(fs.statSync(path.join(dir, 'clip.mkv')).size > 10_000);
    assert.ok(fs.statSync(path.join(dir, 'old.mkv')).size > 10_000);
    await doorbell!.wait(/button held: opening setup/);
  });
});
