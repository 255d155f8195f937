/*
 * The running image's state for A/B updates (docs/update-format.md), with ESP-IDF's app rollback
 * (CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE, set in every board's sdkconfig.defaults): a new image
 * boots ESP_OTA_IMG_PENDING_VERIFY; it is marked valid after its self-test, or rolled back.
 * The Moddable simulator has no app slots: the state is "valid", the slot size 0 (no updates),
 * and the rest refuses.
 */
#include "xsmc.h"

#if ESP32
	// the SDK's own OTA code includes it this way: its makefile puts $(IDF_PATH)/components, not app_update/include, on the path
	#include "app_update/include/esp_ota_ops.h"
	#include "esp_system.h"

void xs_sealbell_ota_running_state(xsMachine *the)
{
	esp_ota_img_states_t state;
	const esp_partition_t *running = esp_ota_get_running_partition();
	if (running && ESP_OK == esp_ota_get_state_partition(running, &state) && ESP_OTA_IMG_PENDING_VERIFY == state)
		xsmcSetString(xsResult, "trial");
	else
		xsmcSetString(xsResult, "valid");
}

void xs_sealbell_ota_mark_valid(xsMachine *the)
{
	if (ESP_OK != esp_ota_mark_app_valid_cancel_rollback())
		xsUnknownError("cannot mark the running image valid");
}

void xs_sealbell_ota_rollback(xsMachine *the)
{
	esp_ota_mark_app_invalid_rollback_and_reboot();
	xsUnknownError("no image to roll back to");
}

void xs_sealbell_ota_slot_size(xsMachine *the)
{
	const esp_partition_t *next = esp_ota_get_next_update_partition(NULL);
	xsmcSetInteger(xsResult, next ? (xsIntegerValue)next->size : 0);
}

void xs_sealbell_restart(xsMachine *the)
{
	esp_restart();
}

#else

void xs_sealbell_ota_running_state(xsMachine *the)
{
	xsmcSetString(xsResult, "valid");
}

void xs_sealbell_ota_mark_valid(xsMachine *the)
{
}

void xs_sealbell_ota_rollback(xsMachine *the)
{
	xsUnknownError("the simulator has no app slots");
}

void xs_sealbell_ota_slot_size(xsMachine *the)
{
	xsmcSetInteger(xsResult, 0);
}

void xs_sealbell_restart(xsMachine *the)
{
	xsUnknownError("the simulator cannot restart itself");
}

#endif
