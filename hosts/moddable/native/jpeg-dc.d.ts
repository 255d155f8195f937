/** Types for jpeg-dc.js: see hosts/moddable/native/xs_jpeg_dc.c. */
export declare function jpegDcNative(jpeg: Uint8Array, dc: ArrayBufferLike, shape: ArrayBufferLike): number;
export declare function dcCellsNative(dc: ArrayBufferLike, cols: number, rows: number, colCell: ArrayBufferLike, rowCell: ArrayBufferLike, sums: ArrayBufferLike): void;
