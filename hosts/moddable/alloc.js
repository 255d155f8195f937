import { hostBytes } from './native/hostbuffer.js';
export const hostAlloc = (n) => hostBytes(n);
//# sourceMappingURL=alloc.js.map