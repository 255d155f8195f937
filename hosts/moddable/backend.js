/**
 * The device crypto backend: ChaCha20-Poly1305 from the native core
 * (native/chacha20poly1305.c through native/aead.js, byte-identical to noble)
 * and SHA-256 from the SDK's native `crypt` Digest. Both work on the buffers in
 * place, host buffers included, so video bytes never pass through JS code.
 */
import { Digest } from 'crypt';
import { aead } from './native/aead.js';
export const moddableBackend = {
    name: 'moddable-native',
    aead,
    sha256() {
        const digest = new Digest('SHA256');
        return {
            update(data) {
                if (data.length)
                    digest.write(data);
            },
            digest() {
                return new Uint8Array(digest.close());
            },
        };
    },
};
//# sourceMappingURL=backend.js.map