/*
 * sealbell's native code inside an xsnap worker, for CI and the benchmarks:
 * the same XS engine as @agoric/xsnap's xsnap-worker (XS 13.3, built from the
 * sources that package ships), with the device's native modules built in —
 * hosts/moddable/native/xs_aead.c + chacha20poly1305.c (AEAD, incremental
 * sealing) and hostbuffer.c (buffers in host memory, outside the XS heap) —
 * and a window on the XS heap's own accounting.
 *
 * tools/xs-native/build.ts compiles xsnap-worker.c with
 * -DfxCreateMachine=sealbellCreateMachine, so the worker's machine is made
 * here: the real fxCreateMachine, then one global, `sealbellNative`:
 *
 *   seal, open                 xs_sealbell_aead_seal / _open
 *   SealStream                 class over xs_sealbell_seal_stream* (as aead.js)
 *   HostMemory                 class over xs_sealbell_hostbuffer (as hostbuffer.js)
 *   jpegDc, dcCells            xs_sealbell_jpeg_dc / _dc_cells (as jpeg-dc.js): camera motion
 *   heap()                     XS's own counters: { chunks, slots } in use (bytes
 *                              of chunks, slots; right after gc() that is the live
 *                              heap), their peaks since resetPeak, the capacity
 *                              reserved so far { chunkCapacity, slotCapacity } and
 *                              slotSize (32 here, 16 on an ESP32)
 *   resetPeak()                peaks := current
 *   fixHeap()                  no more growth: from now on XS collects garbage when
 *                              its heap is full and, when the live data does not fit,
 *                              exits with code 11 (not enough memory), as a device
 *                              with a fixed-size heap does
 *
 * Nothing else differs from xsnap-worker: same protocol, same meter.
 */
#include "xsAll.h"
#include "xs.h"


extern void xs_sealbell_aead_seal(xsMachine *the);
extern void xs_sealbell_aead_open(xsMachine *the);
extern void xs_sealbell_seal_stream_destructor(void *data);
extern void xs_sealbell_seal_stream(xsMachine *the);
extern void xs_sealbell_seal_stream_begin(xsMachine *the);
extern void xs_sealbell_seal_stream_update(xsMachine *the);
extern void xs_sealbell_seal_stream_finish(xsMachine *the);
extern void xs_sealbell_hostbuffer_destructor(void *data);
extern void xs_sealbell_hostbuffer(xsMachine *the);
extern void xs_sealbell_jpeg_dc(xsMachine *the);
extern void xs_sealbell_dc_cells(xsMachine *the);

static void setNumber(xsMachine *the, char *name, double value)
{
	xsVar(0) = xsNumber(value);
	xsSet(xsResult, xsID(name), xsVar(0));
}

static void xs_sealbell_heap(xsMachine *the)
{
	/* read before allocating the result */
	double chunks = (double)the->currentChunksSize, slots = (double)the->currentHeapCount;
	double peakChunks = (double)the->peakChunksSize, peakSlots = (double)the->peakHeapCount;
	double chunkCapacity = (double)the->maximumChunksSize, slotCapacity = (double)the->maximumHeapCount;

	xsVars(1);
	xsResult = xsNewObject();
	setNumber(the, "chunks", chunks);
	setNumber(the, "slots", slots);
	setNumber(the, "peakChunks", peakChunks);
	setNumber(the, "peakSlots", peakSlots);
	setNumber(the, "chunkCapacity", chunkCapacity);
	setNumber(the, "slotCapacity", slotCapacity);
	setNumber(the, "slotSize", (double)sizeof(txSlot));
}

static void xs_sealbell_fix_heap(xsMachine *the)
{
	/* XS's own fixed-size heap mode (xsMemory.c: fxGrowChunks, fxNewSlot) */
	the->minimumChunksSize = 0;
	the->minimumHeapCount = 0;
}

static void xs_sealbell_heap_reset_peak(xsMachine *the)
{
	the->peakChunksSize = the->currentChunksSize;
	the->peakHeapCount = the->currentHeapCount;
}

/* target[name] = a host function. Uses xsVar(1) of the caller's host frame. */
static void defineFunction(xsMachine *the, xsSlot *target, char *name,
	xsCallback callback, xsIntegerValue length)
{
	xsVar(1) = xsNewHostFunction(callback, length);
	xsDefine(*target, xsID(name), xsVar(1), xsDontEnum);
}

/*
 * target[name] = a class whose instances are host objects with `destructor`,
 * as `class C @ "destructor"` makes. Uses xsVar(1) to xsVar(3) of the
 * caller's host frame.
 */
static void defineHostClass(xsMachine *the, xsSlot *target, char *name,
	xsCallback constructor, xsIntegerValue length, xsDestructor destructor,
	char **methods, xsCallback *callbacks, xsIntegerValue *lengths)
{
	xsVar(2) = xsNewHostObject(destructor);
	for (; *methods; methods++, callbacks++, lengths++)
		defineFunction(the, &xsVar(2), *methods, *callbacks, *lengths);
	xsVar(3) = xsNewHostConstructor(constructor, length, xsVar(2));
	/* a base class constructor, as xsc compiles one: `new` makes `this` (a host instance) first */
	xsVar(3).value.reference->next->flag |= XS_BASE_FLAG;
	xsDefine(xsVar(2), xsID("constructor"), xsVar(3), xsDontEnum);
	xsSet(*target, xsID(name), xsVar(3));
}

xsMachine *sealbellCreateMachine(xsCreation *creation, xsStringValue name, void *context, xsIdentifier profileID)
{
	xsMachine *the;
	static char *streamMethods[] = { "begin", "update", "finish", NULL };
	static xsCallback streamCallbacks[] = { xs_sealbell_seal_stream_begin,
		xs_sealbell_seal_stream_update, xs_sealbell_seal_stream_finish };
	static xsIntegerValue streamLengths[] = { 2, 2, 2 };
	static char *noMethods[] = { NULL };

	the = fxCreateMachine(creation, name, context, profileID);
	if (!the)
		return the;
	xsBeginHost(the);
	{
		xsVars(4);
		xsVar(0) = xsNewObject();
		defineFunction(the, &xsVar(0), "seal", xs_sealbell_aead_seal, 5);
		defineFunction(the, &xsVar(0), "open", xs_sealbell_aead_open, 5);
		defineFunction(the, &xsVar(0), "jpegDc", xs_sealbell_jpeg_dc, 3);
		defineFunction(the, &xsVar(0), "dcCells", xs_sealbell_dc_cells, 6);
		defineFunction(the, &xsVar(0), "heap", xs_sealbell_heap, 0);
		defineFunction(the, &xsVar(0), "resetPeak", xs_sealbell_heap_reset_peak, 0);
		defineFunction(the, &xsVar(0), "fixHeap", xs_sealbell_fix_heap, 0);
		defineHostClass(the, &xsVar(0), "SealStream", xs_sealbell_seal_stream, 0,
			xs_sealbell_seal_stream_destructor, streamMethods, streamCallbacks, streamLengths);
		defineHostClass(the, &xsVar(0), "HostMemory", xs_sealbell_hostbuffer, 1,
			xs_sealbell_hostbuffer_destructor, noMethods, NULL, NULL);
		xsDefine(xsGlobal, xsID("sealbellNative"), xsVar(0), xsDontEnum);
	}
	xsEndHost(the);
	return the;
}
