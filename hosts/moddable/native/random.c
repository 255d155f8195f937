/*
 * xs_sealbell_random_fill(buffer): fills an ArrayBuffer, typed array or host
 * buffer from the platform CSPRNG (the SDK's `rng` module is not one).
 *
 * - ESP32: esp_fill_random(), the hardware RNG. It is cryptographically
 *   strong while Wi-Fi/Bluetooth is running (or the bootloader entropy source
 *   is enabled), which holds for the doorbell once it is on the network.
 * - Linux (the Moddable simulator): getrandom().
 */
#include "xsmc.h"

#if ESP32
	#include "esp_random.h"
#elif defined(__linux__)
	#include <errno.h>
	#include <sys/random.h>
#else
	#error "sealbell: no CSPRNG for this platform"
#endif

void xs_sealbell_random_fill(xsMachine *the)
{
	uint8_t *data;
	xsUnsignedValue len;

	xsmcGetBufferWritable(xsArg(0), (void **)&data, &len);
#if ESP32
	esp_fill_random(data, len);
#else
	while (len) {
		ssize_t n = getrandom(data, len, 0);
		if (n < 0) {
			if (EINTR == errno)
				continue;
			xsUnknownError("getrandom failed");
		}
		data += n;
		len -= (xsUnsignedValue)n;
	}
#endif
}
