/** Types for ota-state.js (the running image's state under ESP-IDF app rollback). */

/** "trial": booted from an update and not yet marked valid (ESP_OTA_IMG_PENDING_VERIFY). */
export declare function runningState(): 'valid' | 'trial';
/** esp_ota_mark_app_valid_cancel_rollback */
export declare function markValid(): void;
/** esp_ota_mark_app_invalid_rollback_and_reboot: the previous slot boots (this restarts at once) */
export declare function rollback(): void;
/** bytes of the next update partition (0 without OTA partitions, and in the simulator) */
export declare function slotSize(): number;
/** esp_restart */
export declare function restart(): void;
