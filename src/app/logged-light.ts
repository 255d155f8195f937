import type { LedStatus, StatusLight } from './host.js';

/** For boards without an LED, and the simulators: status changes go to the log. */
export class LoggedLight implements StatusLight {
  private status: LedStatus = 'off';
  constructor(private readonly log: (message: string) => void) {}
  show(status: LedStatus): void {
    if (status === this.status) return;
    this.status = status;
    this.log(`status: ${status}`);
  }
  close(): void {}
}
