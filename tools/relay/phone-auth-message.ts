/** The exact bytes a phone signs to log in (phone-auth.ts), without Node: the web app signs them too. */
import { concatBytes, utf8ToBytes } from '../../src/bytes.js';

export const AUTH_CONTEXT = 'sealbell-relay-auth-v1';

export function authMessage(challenge: Uint8Array, origin: string): Uint8Array {
  return concatBytes(utf8ToBytes(AUTH_CONTEXT), challenge, utf8ToBytes(origin));
}
