/**
 * Wall-clock time for the device, pure. Clip ids and manifests need UTC time;
 * an ESP32 boots at 1970 and learns the time from SNTP once on Wi-Fi.
 *
 * `systemNow` is the platform's `Date.now()`: on ESP32 it counts from boot
 * until `Time.set` is called (so before SNTP it is a monotonic ms counter), in
 * the simulator it is already the host's time. Until synced, the clock adds an
 * offset that puts boot at the last time the device knew (`floor`, e.g. the
 * last SNTP time saved in the store), so clip ids keep increasing across reboots.
 */
/** Before this, `Date.now()` is taken as "not set" (2024-01-01T00:00:00Z). */
export const PLAUSIBLE_TIME = 1_704_067_200_000;
export class ClockState {
    offset = 0;
    synced_ = false;
    /** `floor`: a time (ms since the Unix epoch) known to be in the past; `systemNow`: Date.now() at boot. */
    constructor(systemNow, floor = 0) {
        if (systemNow >= PLAUSIBLE_TIME) {
            this.synced_ = true; // the host's clock is already set (simulator, RTC kept across a soft reset)
        }
        else if (floor > systemNow) {
            this.offset = floor - systemNow;
        }
    }
    /** True once the time came from SNTP (or the host already had it). */
    get synced() {
        return this.synced_;
    }
    /** ms since the Unix epoch, best known. */
    now(systemNow) {
        return systemNow + this.offset;
    }
    /**
     * SNTP answered `unixSeconds`; the caller has set the system clock to it
     * (Time.set), so from now on Date.now() is the time.
     */
    synchronized() {
        this.offset = 0;
        this.synced_ = true;
    }
}
//# sourceMappingURL=clock-state.js.map