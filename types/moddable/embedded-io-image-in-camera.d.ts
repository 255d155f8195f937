// ECMA-419 image input: `embedded:io/image/in/camera` (esp32-camera on ESP32; V4L2 on Linux).
declare module 'embedded:io/image/in/camera' {
  /** A frame in the camera's own memory ("buffer/disposable"): view it, then close() it to give it back. */
  interface CameraFrame extends HostBuffer {
    close(): void;
  }

  interface CameraOptions {
    /** the driver picks the smallest sensor frame size covering width × height */
    width?: number;
    height?: number;
    /** "jpeg" for compressed frames, or a pixel format number */
    imageType?: 'jpeg' | number;
    format?: 'buffer' | 'buffer/disposable';
    /** frames are ready to read */
    onReadable?: (this: Camera, count: number) => void;
    target?: unknown;
  }

  class Camera {
    constructor(options: CameraOptions);
    /** the oldest ready frame, or undefined when none is ready */
    read(): CameraFrame | undefined;
    start(): void;
    stop(): void;
    close(): void;
    /** the frame size in use (known once the first frame arrived) */
    readonly width: number;
    readonly height: number;
    readonly imageType: string | number;
    format: string;
    configure(options: Record<string, number>): void;
  }

  export default Camera;
}
