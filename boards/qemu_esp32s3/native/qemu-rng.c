/*
 * The QEMU board's entropy source. ESP-IDF's esp_fill_random() reads the chip's RNG, which is
 * a true RNG only while an entropy source feeds it: RF (Wi-Fi/Bluetooth running), or the
 * SAR ADC noise and the 8 MHz RC clock that bootloader_random_enable() switches on (the
 * second-stage bootloader does this and switches it off again before the app starts;
 * ESP-IDF's "Random Number Generation" page). The device boards turn the radio on
 * (hosts/moddable/wifi.ts, powerRadio); this board has no radio (Ethernet in QEMU), so it
 * switches the bootloader's source on, as ESP-IDF tells apps without RF to do. Nothing on
 * this board uses the ADC or Wi-Fi, which that source would conflict with.
 *
 * QEMU's RNG model returns the host's randomness whatever the registers say: what this proves
 * under QEMU is the order (no key before the source is on), not the entropy.
 */
#include "xsmc.h"
#include "xsHost.h"

#include "bootloader_random.h"
#include "soc/soc.h"
#include "soc/system_reg.h"
#include "soc/syscon_reg.h"
#include "soc/rtc_cntl_reg.h"

static uint8_t gOn = 0;

/* Switches the entropy source on (once). Returns the enable bits as read back: "rng clock, 8M clock". */
void xs_sealbell_qemu_rng_enable(xsMachine *the)
{
	char text[48];

	if (!gOn) {
		bootloader_random_enable();
		gOn = 1;
	}
	snprintf(text, sizeof(text), "RNG clock bit %d, 8 MHz clock bit %d",
		(REG_READ(SYSTEM_WIFI_CLK_EN_REG) & SYSTEM_WIFI_CLK_RNG_EN) ? 1 : 0,
		(REG_READ(RTC_CNTL_CLK_CONF_REG) & RTC_CNTL_DIG_CLK8M_EN) ? 1 : 0);
	xsmcSetString(xsResult, text);
}
