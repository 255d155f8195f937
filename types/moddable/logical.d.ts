// `logical`: bitwise operations on buffers in native code.
declare module 'logical' {
  const Logical: {
    /** dst ^= src, repeating src over dst (src may be a number for one byte) */
    xor(dst: ArrayBuffer | ArrayBufferView, src: ArrayBuffer | ArrayBufferView | number | string, count?: number): void;
  };
  export default Logical;
}
