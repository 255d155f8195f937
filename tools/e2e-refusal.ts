/**
 * The TLS refusal step both end-to-end drivers run with --tls (tools/moddable-e2e.ts,
 * tools/qemu-e2e.ts): the relay's address presents a certificate the doorbell must refuse; a
 * press meanwhile records a clip that must wait in the spool, and reach the relay once the right
 * certificate is back. A connection to the wrong certificate fails the run (`ATTACK ACCEPTED`).
 */
import type { LineLog } from './e2e-driver.js';
import { until } from './e2e-driver.js';
import type { TestCa } from './test-ca.js';

export interface RefusalRig {
  /** who is checked, for the messages: "the simulator", "the doorbell" */
  device: string;
  /** the device's console */
  log: LineLog;
  /** stops the relay and starts it again on the same port and data with `cert` */
  restartRelay(cert: TestCa): Promise<void>;
  /** the right certificate */
  good: TestCa;
  /** presses the button (the console lines from `from` on are the ones to read) */
  press(from: number): Promise<void>;
  /** the phone's clip listing, or undefined while it cannot be read */
  clipsOf(): string | undefined;
  /** the longest wait for one step, ms (the emulated chip is slower than the simulator) */
  bound: number;
  /** how often to poll the relay, ms */
  every: number;
  say(line: string): void;
}

export async function refuseThenRecover(r: RefusalRig, cert: TestCa, what: string, pass: string): Promise<void> {
  let mark = r.log.lines.length;
  await r.restartRelay(cert);
  // A refusal once that relay is up (while no relay listened, a failed connect reads the
  // same), or a connection, which must not happen.
  const up = r.log.lines.length;
  const accepted = (): never => {
    r.say(`ATTACK ACCEPTED: ${r.device} connected to the relay presenting ${what}`);
    throw new Error(`${r.device} connected to the relay presenting ${what}`);
  };
  const refusedOrAccepted = async (from: number, waitingFor: string): Promise<string> => {
    const outcome = await r.log.wait(/uplink: (closed \(1006 TLS.*|could not connect.*)|uplink: (connected to the relay)/, r.bound, waitingFor, from);
    if (outcome[2]) accepted();
    return outcome[1]!;
  };
  r.say(`${r.device} refused ${what}: ${await refusedOrAccepted(up, `${r.device} to refuse ${what}`)}`);
  await r.press(mark);
  const waiting = (await r.log.wait(/button: clip (\S+)/, r.bound / 2, 'the press', mark))[1];
  await r.log.wait(new RegExp(`clip ${waiting}: done`), r.bound, 'the clip to finish', mark);
  await refusedOrAccepted(r.log.lines.length, 'another refusal');
  if (r.log.lines.slice(mark).some((l) => /connected to the relay/.test(l))) accepted();
  if (r.clipsOf()?.includes(waiting)) throw new Error(`clip ${waiting} reached the relay presenting ${what}`);
  mark = r.log.lines.length;
  await r.restartRelay(r.good);
  await r.log.wait(/connected to the relay/, r.bound * 1.5, `${r.device} to reconnect to the right certificate`, mark);
  await until(`clip ${waiting} verified at the relay`, r.bound, async () => (r.clipsOf()?.includes(`${waiting}  verified`) ? true : undefined), r.every);
  r.say(`${pass}: ${what} refused (the clip ${waiting} waited in the spool), uploaded once the right one is back`);
}
