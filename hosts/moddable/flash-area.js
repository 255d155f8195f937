/**
 * FlashArea over the SDK's `flash` module: the board's `spool` data partition
 * (boards/<board>/sdkconfig/partitions.csv).
 */
import Flash from 'flash';
export class PartitionFlashArea {
    flash;
    byteLength;
    blockSize;
    constructor(partition = 'spool') {
        this.flash = new Flash(partition);
        this.blockSize = this.flash.blockSize;
        this.byteLength = this.flash.byteLength - (this.flash.byteLength % this.blockSize);
    }
    read(offset, length) {
        if (length === 0)
            return new Uint8Array(0);
        return new Uint8Array(this.flash.read(offset, length));
    }
    write(offset, bytes) {
        if (bytes.length === 0)
            return;
        this.flash.write(offset, bytes.length, bytes);
    }
    erase(sector) {
        this.flash.erase(sector);
    }
}
//# sourceMappingURL=flash-area.js.map