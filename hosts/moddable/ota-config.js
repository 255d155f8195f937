/**
 * Firmware updates on a board (docs/update-format.md): what the build says this firmware is and
 * which release key it trusts, from mcconfig arguments (hence `mc/config`):
 *
 *   mcconfig -d -m -p esp32:boards/<board> version=1.4.0 security=3 releaseKey=<base64 of the 32-byte key>
 *
 * (`releaseKey` is the second line of release.pub minus its 10-byte header: `sealbell release keygen`
 * prints nothing else to do; docs/moddable.md shows the one-liner.) Without a release key, a
 * version, or OTA partitions the doorbell takes no updates and says why.
 */
import { base64 } from '@scure/base';
export function otaFromConfig(build, slots, restart, log) {
    const off = (why) => {
        log(`update: off (${why})`);
        return undefined;
    };
    if (!slots)
        return off('no OTA partitions');
    if (typeof build.releaseKey !== 'string')
        return off('the build has no releaseKey');
    let releaseKey;
    try {
        releaseKey = base64.decode(build.releaseKey);
    }
    catch {
        return off('releaseKey is not base64');
    }
    if (releaseKey.length !== 32)
        return off('releaseKey is not a 32-byte Ed25519 key');
    const security = Number(build.security ?? 0);
    if (!Number.isInteger(security) || security < 0 || security > 0xffffffff)
        return off('security is not a whole number');
    const version = typeof build.version === 'string' ? build.version : String(build.version ?? '0.0.0');
    return { slots, releaseKey, restart, firmware: { board: build.board ?? 'unknown', version, security } };
}
//# sourceMappingURL=ota-config.js.map