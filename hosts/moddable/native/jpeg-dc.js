/*
 * The camera frame's DC image in C (jpeg_dc.c through xs_jpeg_dc.c), for camera
 * motion on the device, and the sum of its blocks over the motion grid: see
 * hosts/moddable/dc-image.ts, which wraps them.
 */
export function jpegDcNative(jpeg, dc, shape) @ "xs_sealbell_jpeg_dc";
export function dcCellsNative(dc, cols, rows, colCell, rowCell, sums) @ "xs_sealbell_dc_cells";
