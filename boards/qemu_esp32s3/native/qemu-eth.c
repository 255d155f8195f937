/*
 * Ethernet for the QEMU board: ESP-IDF's OpenCores MAC driver (esp_eth_mac_new_openeth, the
 * `open_eth` NIC of Espressif's QEMU) with the DP83848 PHY model, DHCP from QEMU's user
 * network. The ESP32-S3 has no such MAC on the chip: this builds only with
 * CONFIG_ETH_USE_OPENETH (boards/qemu_esp32s3/sdkconfig) and an ESP-IDF that defines the
 * model's base address for esp32s3 (docs/moddable.md, "QEMU").
 */
#include "xsmc.h"
#include "xsHost.h"

#include "esp_eth.h"
#include "esp_event.h"
#include "esp_netif.h"

static esp_netif_t *gNetif = NULL;
static volatile uint32_t gAddress = 0;

static void onGotIP(void *arg, esp_event_base_t base, int32_t id, void *data)
{
	const ip_event_got_ip_t *event = (const ip_event_got_ip_t *)data;
	gAddress = event->ip_info.ip.addr;
}

static void onLostIP(void *arg, esp_event_base_t base, int32_t id, void *data)
{
	gAddress = 0;
}

void xs_sealbell_qemu_eth_start(xsMachine *the)
{
	esp_err_t err;
	esp_eth_handle_t handle = NULL;

	if (gNetif)
		return;
	err = esp_netif_init();
	if (ESP_OK != err)
		xsUnknownError("esp_netif_init failed");
	err = esp_event_loop_create_default();
	if ((ESP_OK != err) && (ESP_ERR_INVALID_STATE != err))	// already created: fine
		xsUnknownError("no default event loop");

	esp_netif_config_t netifConfig = ESP_NETIF_DEFAULT_ETH();
	gNetif = esp_netif_new(&netifConfig);

	eth_mac_config_t macConfig = ETH_MAC_DEFAULT_CONFIG();
	eth_phy_config_t phyConfig = ETH_PHY_DEFAULT_CONFIG();
	phyConfig.autonego_timeout_ms = 100;
	esp_eth_mac_t *mac = esp_eth_mac_new_openeth(&macConfig);
	esp_eth_phy_t *phy = esp_eth_phy_new_dp83848(&phyConfig);
	esp_eth_config_t config = ETH_DEFAULT_CONFIG(mac, phy);
	if (!mac || !phy || (ESP_OK != esp_eth_driver_install(&config, &handle)))
		xsUnknownError("open_eth: no Ethernet (run QEMU with -nic user,model=open_eth)");

	esp_netif_attach(gNetif, esp_eth_new_netif_glue(handle));
	esp_event_handler_register(IP_EVENT, IP_EVENT_ETH_GOT_IP, onGotIP, NULL);
	esp_event_handler_register(IP_EVENT, IP_EVENT_ETH_LOST_IP, onLostIP, NULL);
	if (ESP_OK != esp_eth_start(handle))
		xsUnknownError("open_eth: esp_eth_start failed");
}

/* The DHCP address as text, or undefined before there is one. */
void xs_sealbell_qemu_eth_address(xsMachine *the)
{
	uint32_t a = gAddress;
	char text[16];
	if (!a)
		return;
	snprintf(text, sizeof(text), "%u.%u.%u.%u", (unsigned)(a & 0xFF), (unsigned)((a >> 8) & 0xFF), (unsigned)((a >> 16) & 0xFF), (unsigned)(a >> 24));
	xsmcSetString(xsResult, text);
}

/*
 * Bytes typed on the serial console (UART0, whose driver the SDK's main.c installs), as a
 * string; "" when there are none. Read without blocking.
 */
void xs_sealbell_qemu_console_read(xsMachine *the)
{
	char text[65];
	int n = 0, c;
	while ((n < 64) && ((c = ESP_getc()) >= 0))
		text[n++] = (char)c;
	text[n] = 0;
	xsmcSetString(xsResult, text);
}
