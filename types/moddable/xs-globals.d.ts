// Globals of the XS runtime in Moddable builds.

/** Writes to the debug console (xsbug) or, in a release simulator build, stdout. No newline is added. */
declare const trace: {
  (...values: (string | number | boolean)[]): void;
};

/** Memory outside the XS heap (a resource in flash, a camera frame, a native allocation), viewable with typed arrays. */
declare class HostBuffer {
  readonly byteLength: number;
  private readonly hostBufferBrand: true;
}

// Typed arrays and DataViews accept host buffers as their buffer.
interface ArrayBufferTypes {
  HostBuffer: HostBuffer;
}
