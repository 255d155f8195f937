/**
 * Where a device finds its provisioning record (the SPAKE2+ verifier from
 * `sealbell provision`, DIR/setup-verifier.bin) before setup: the build's
 * `verifier=<hex>` (mcconfig argument, hence `config.verifier`), or, in the
 * simulator, the file setup-verifier.bin in its state folder. The app installs
 * it into the key-value store when it differs from the one stored.
 */
import { hexToBytes } from '../../src/bytes.js';
/** The record from `config.verifier`, or undefined when the build gives none or it is not hex. */
export function verifierFromConfig(value, log) {
    if (typeof value !== 'string' || value === '')
        return undefined;
    if (!/^([0-9a-fA-F]{2})+$/.test(value)) {
        log('setup: config.verifier is not hex; ignored');
        return undefined;
    }
    return hexToBytes(value.toLowerCase());
}
//# sourceMappingURL=provisioning.js.map