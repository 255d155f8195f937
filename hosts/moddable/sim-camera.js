/**
 * The simulator's camera. The SDK's Linux camera delivers YUYV only, so the
 * simulator cycles a few small baseline JPEG frames stored as resources
 * (sim-frames/sim-frame-N.jfif, each showing its number), at a steady rate.
 * Resources are read-only host buffers: frames are handed over without a copy.
 */
import Resource from 'Resource';
import Timer from 'timer';
import { frameIndex, frameResourceName } from './jpeg.js';
export class SyntheticCamera {
    o;
    width;
    height;
    dropped = 0;
    frames = [];
    interval;
    timer;
    n = 0;
    constructor(o) {
        this.o = o;
        this.width = o.width;
        this.height = o.height;
        this.interval = Math.max(1, Math.round(1000 / (o.fps ?? 10)));
        for (let i = 0; Resource.exists(frameResourceName(i)); i++) {
            this.frames.push(new Uint8Array(new Resource(frameResourceName(i))));
        }
        if (this.frames.length === 0)
            throw new Error('sim camera: no sim-frame-N.jfif resources in the build');
    }
    get frameCount() {
        return this.frames.length;
    }
    start() {
        if (this.timer)
            return;
        this.timer = Timer.repeat(() => this.o.onFrame(this.frames[frameIndex(this.n++, this.frames.length)]), this.interval);
    }
    stop() {
        if (this.timer)
            Timer.clear(this.timer);
        this.timer = undefined;
    }
    close() {
        this.stop();
        this.frames.length = 0;
    }
}
//# sourceMappingURL=sim-camera.js.map