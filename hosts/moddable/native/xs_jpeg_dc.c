/*
 * XS (Moddable SDK) binding for the DC-image decoder (jpeg_dc.c):
 *
 *   xs_sealbell_jpeg_dc(jpeg, dc, shape) -> 0, or the decoder's negative error
 *   xs_sealbell_dc_cells(dc, cols, rows, colCell, rowCell, sums) -> undefined
 *
 * jpeg: the camera frame (any buffer: a host buffer is read in place); dc: the
 * ArrayBuffer of an Int32Array the luma blocks' DC values go into, row by row;
 * shape: the ArrayBuffer of an Int32Array of 3 that gets cols, rows and q, also
 * when the result is SB_JPEG_DC_TOO_SMALL (the caller makes `dc` bigger and asks
 * again). ArrayBuffers, because xsmc takes typed arrays of bytes only.
 *
 * dc_cells adds each block of a cols × rows DC image to its motion-grid cell
 * (sb_dc_cell_sums): every buffer is an Int32Array's ArrayBuffer, and every
 * size and index is checked here, so a wrong call is a RangeError, never a
 * write outside `sums`.
 *
 * Nothing is allocated: the camera's frames pass through without a copy, and
 * a caller that keeps its `dc` makes no garbage per frame.
 *
 * Buffer pointers from the XS heap may move when the GC compacts; nothing here
 * allocates between taking them and using them.
 */
#include "xsmc.h"

#include "jpeg_dc.h"

void xs_sealbell_jpeg_dc(xsMachine *the)
{
	uint8_t *jpeg;
	int32_t *dc, *shape;
	xsUnsignedValue jpegLen, dcLen, shapeLen;
	sb_dc_image img = { 0, 0, 0 };
	int rc;

	xsmcGetBufferReadable(xsArg(0), (void **)&jpeg, &jpegLen);
	xsmcGetBufferWritable(xsArg(1), (void **)&dc, &dcLen);
	xsmcGetBufferWritable(xsArg(2), (void **)&shape, &shapeLen);
	if (shapeLen < 3 * sizeof(int32_t))
		xsRangeError("shape must hold 3 numbers");
	if (((uintptr_t)dc | (uintptr_t)shape) & 3)
		xsRangeError("dc and shape must be Int32Array buffers");
	rc = sb_jpeg_dc_image(jpeg, jpegLen, dc, dcLen / sizeof(int32_t), &img);
	shape[0] = img.cols;
	shape[1] = img.rows;
	shape[2] = img.q;
	xsmcSetInteger(xsResult, rc);
}

static int32_t *int32s(xsMachine *the, xsSlot *slot, xsUnsignedValue *count, char *what)
{
	void *data;
	xsUnsignedValue bytes;

	xsmcGetBufferWritable(*slot, &data, &bytes);
	if ((uintptr_t)data & 3)
		xsRangeError("%s must be an Int32Array buffer", what);
	*count = bytes / sizeof(int32_t);
	return (int32_t *)data;
}

void xs_sealbell_dc_cells(xsMachine *the)
{
	int cols = xsmcToInteger(xsArg(1)), rows = xsmcToInteger(xsArg(2));
	xsUnsignedValue dcCount, colCount, rowCount, sumCount;
	int32_t *dc, *colCell, *rowCell, *sums;
	int i, maxCol = 0;

	/* all conversions above; no allocation from here on, so the pointers stay put */
	dc = int32s(the, &xsArg(0), &dcCount, "dc");
	colCell = int32s(the, &xsArg(3), &colCount, "colCell");
	rowCell = int32s(the, &xsArg(4), &rowCount, "rowCell");
	sums = int32s(the, &xsArg(5), &sumCount, "sums");
	if (cols < 1 || rows < 1 || (xsUnsignedValue)cols * (xsUnsignedValue)rows > dcCount || (xsUnsignedValue)cols > colCount || (xsUnsignedValue)rows > rowCount)
		xsRangeError("the image is not %d x %d blocks", cols, rows);
	for (i = 0; i < cols; i++) {
		if (colCell[i] < 0 || (xsUnsignedValue)colCell[i] >= sumCount)
			xsRangeError("a column's cell is outside the grid");
		if (colCell[i] > maxCol)
			maxCol = colCell[i];
	}
	for (i = 0; i < rows; i++)
		if (rowCell[i] < 0 || (xsUnsignedValue)rowCell[i] + (xsUnsignedValue)maxCol >= sumCount)
			xsRangeError("a row's cell is outside the grid");
	sb_dc_cell_sums(dc, cols, rows, colCell, rowCell, sums);
}
