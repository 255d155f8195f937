/*
 * xs_sealbell_hostbuffer(byteLength): makes `this` (a HostMemory instance, see
 * hostbuffer.js) a writable host buffer of byteLength zeroed bytes in host
 * memory rather than the XS heap: PSRAM on ESP32 boards that have it, else
 * internal RAM; malloc in the simulator. The sealer's 64 KiB chunk buffer
 * lives here (a device's whole JS heap can be ~77 KB), and the camera's
 * frames are host buffers too.
 *
 * When the object is collected the destructor zeroes the bytes (they held
 * video) and frees them. The buffer never moves, so native code may keep using
 * a pointer to it during a call.
 */
#include "xsmc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if ESP32
	#include "esp_heap_caps.h"
#endif

#define SB_HOSTBUFFER_HEADER 16			/* keeps the data 16-byte aligned; holds the length */
#define SB_HOSTBUFFER_MAX (16 * 1024 * 1024)

static void *sbAlloc(size_t size)
{
#if ESP32
	void *p = heap_caps_malloc(size, MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT);
	return p ? p : heap_caps_malloc(size, MALLOC_CAP_8BIT);
#else
	return malloc(size);
#endif
}

static void sbFree(void *p)
{
#if ESP32
	heap_caps_free(p);
#else
	free(p);
#endif
}

void xs_sealbell_hostbuffer_destructor(void *data)
{
	uint8_t *base;
	volatile uint8_t *v;
	size_t size;

	if (!data)
		return;
	base = (uint8_t *)data - SB_HOSTBUFFER_HEADER;
	memcpy(&size, base, sizeof(size));
	for (v = (volatile uint8_t *)data; size; size--)
		*v++ = 0;
	sbFree(base);
}

void xs_sealbell_hostbuffer(xsMachine *the)
{
	xsIntegerValue n = xsmcToInteger(xsArg(0));
	size_t size;
	uint8_t *base;

	if ((n <= 0) || (n > SB_HOSTBUFFER_MAX))
		xsRangeError("host buffer size out of range");
	size = (size_t)n;
	base = sbAlloc(size + SB_HOSTBUFFER_HEADER);
	if (!base)
		xsUnknownError("no host memory for the buffer");
	memcpy(base, &size, sizeof(size));
	memset(base + SB_HOSTBUFFER_HEADER, 0, size);
	xsmcSetHostBuffer(xsThis, base + SB_HOSTBUFFER_HEADER, (xsUnsignedValue)size);
}
