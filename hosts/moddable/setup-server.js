/**
 * The setup endpoint on a device (port 80 on the setup access point) and in the
 * simulator (a configured port): the SDK's `socket` Listener, one
 * HttpConnection per accepted connection, a few at a time, each given
 * `timeoutMs` to send its request.
 */
import { Listener } from 'socket';
import Timer from 'timer';
import { HttpConnection } from '../../src/net/http-server.js';
import { acceptTcp } from './tcp-stream.js';
export function startSetupServer(o) {
    const listener = new Listener({ port: o.port });
    const open = new Set();
    listener.callback = () => {
        const conn = new HttpConnection(o.handler, {}, () => {
            Timer.clear(entry.timer);
            open.delete(entry);
        });
        const entry = { conn, timer: Timer.set(() => conn.timeout(), o.timeoutMs ?? 15_000) };
        try {
            conn.attach(acceptTcp(listener, conn));
        }
        catch (e) {
            Timer.clear(entry.timer);
            o.log(`setup server: cannot accept: ${String(e)}`);
            return;
        }
        open.add(entry);
        if (open.size > (o.maxConnections ?? 4))
            conn.timeout();
    };
    o.log(`setup: endpoint listening on port ${o.port} (POST /setup)`);
    return {
        close() {
            listener.close(); // (missing from the SDK's typings)
            for (const e of [...open])
                e.conn.timeout();
            open.clear();
        },
    };
}
//# sourceMappingURL=setup-server.js.map