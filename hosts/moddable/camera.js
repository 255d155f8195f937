/**
 * The board camera in JPEG mode through ECMA-419 `embedded:io/image/in/camera`
 * (the SDK's esp32-camera binding; pins come from the board's `defines.camera`).
 * Frames arrive as disposable host buffers in PSRAM: each is handed to
 * `onFrame` as a Uint8Array view (no copy) and closed right after, so the
 * driver gets its frame buffer back. Frames that are not whole JPEGs are dropped.
 */
import Camera from 'embedded:io/image/in/camera';
import { isWholeJpeg } from './jpeg.js';
export class JpegCamera {
    width;
    height;
    camera;
    dropped_ = 0;
    constructor(o) {
        const onFrame = o.onFrame;
        const onError = o.onError ?? (() => { });
        const camera = new Camera({
            width: o.width,
            height: o.height,
            imageType: 'jpeg',
            format: 'buffer/disposable',
            onReadable: () => {
                // Drain everything ready: the driver holds only a few frame buffers.
                for (let frame = camera.read(); frame; frame = camera.read()) {
                    try {
                        const bytes = new Uint8Array(frame);
                        if (isWholeJpeg(bytes))
                            onFrame(bytes);
                        else
                            this.dropped_++;
                    }
                    catch (e) {
                        onError(e);
                    }
                    finally {
                        frame.close();
                    }
                }
            },
        });
        this.camera = camera;
        // The driver picks the smallest sensor frame size covering the request and
        // reports it only after the first frame: boards ask for an exact size
        // (640×480, 800×600, …) so the clip's container states the real one.
        this.width = o.width;
        this.height = o.height;
    }
    get dropped() {
        return this.dropped_;
    }
    start() {
        this.camera?.start();
    }
    stop() {
        this.camera?.stop();
    }
    close() {
        this.camera?.close();
        this.camera = undefined;
    }
}
//# sourceMappingURL=camera.js.map