/*
 * Buffers in host memory (hostbuffer.c): the Alloc of src/age/stream.ts on
 * Moddable, so the sealer's 64 KiB chunk buffer stays out of the XS heap.
 */

class HostMemory @ "xs_sealbell_hostbuffer_destructor" {
	constructor(byteLength) @ "xs_sealbell_hostbuffer";
}

/** A zeroed Uint8Array of byteLength bytes over host memory; freed (zeroed first) when collected. */
export function hostBytes(byteLength) {
	return new Uint8Array(new HostMemory(byteLength));
}

export default hostBytes;
