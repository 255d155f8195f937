const COMMANDS = new Set(['press', 'long', 'motion']);
/** a line longer than this is noise, not a command: dropped */
const MAX_LINE = 64;
export function consoleCommands() {
    let partial = '';
    // the rest of an overlong line is dropped up to its end, so its tail cannot pass for a command
    let discarding = false;
    return {
        push(text) {
            if (!text)
                return [];
            const parts = (partial + text).split(/\r\n|\r|\n/);
            partial = parts.pop() ?? '';
            const out = [];
            for (const p of parts) {
                if (discarding) {
                    discarding = false;
                    continue;
                }
                const line = p.trim().toLowerCase();
                if (COMMANDS.has(line))
                    out.push(line);
            }
            if (partial.length > MAX_LINE) {
                partial = '';
                discarding = true;
            }
            return out;
        },
    };
}
//# sourceMappingURL=console-commands.js.map