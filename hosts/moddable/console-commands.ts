/**
 * Button commands typed on a serial console, pure: fed what the UART gave (any pieces), it
 * returns the whole lines that are commands (`press`, `long`, `motion`, `walk-by`), trimmed; other
 * lines are ignored. An empty line is not a press: a terminal's stray newline must not ring.
 */
export type ConsoleCommand = 'press' | 'long' | 'motion' | 'walk-by';

const COMMANDS = new Set<string>(['press', 'long', 'motion', 'walk-by']);
/** a line longer than this is noise, not a command: dropped */
const MAX_LINE = 64;

export function consoleCommands(): { push(text: string): ConsoleCommand[] } {
  let partial = '';
  // the rest of an overlong line is dropped up to its end, so its tail cannot pass for a command
  let discarding = false;
  return {
    push(text: string): ConsoleCommand[] {
      if (!text) return [];
      const parts = (partial + text).split(/\r\n|\r|\n/);
      partial = parts.pop() ?? '';
      const out: ConsoleCommand[] = [];
      for (const p of parts) {
        if (discarding) {
          discarding = false;
          continue;
        }
        const line = p.trim().toLowerCase();
        if (COMMANDS.has(line)) out.push(line as ConsoleCommand);
      }
      if (partial.length > MAX_LINE) {
        partial = '';
        discarding = true;
      }
      return out;
    },
  };
}
