/*
 * ECMA-419 host provider ("embedded:provider/builtin") for the AI-Thinker
 * ESP32-CAM. Most GPIOs go to the camera (see defines.camera in manifest.json),
 * PSRAM (16, 17) and the SD card slot. Free for a doorbell: 13 (button, the
 * default in config.sealbell), 14, 15, 2 and 12 (12 must be low at boot).
 * 33 is the red LED (lit when low); 4 is the white flash LED (lit when high).
 */
import Analog from "embedded:io/analog";
import Digital from "embedded:io/digital";
import DigitalBank from "embedded:io/digitalbank";
import I2C from "embedded:io/i2c";
import PWM from "embedded:io/pwm";
import Serial from "embedded:io/serial";
import SMBus from "embedded:io/smbus";
import SPI from "embedded:io/spi";

const device = {
	Serial: {
		default: {
			io: Serial,
			port: 0,
			receive: 3,
			transmit: 1
		}
	},
	io: { Analog, Digital, DigitalBank, I2C, PWM, Serial, SMBus, SPI },
	pin: {
		button: 13,
		led: 33,
		flash: 4
	}
};

export default device;
