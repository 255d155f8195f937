// The SDK's `modules` module: modules a build may or may not hold (a board's own parts).
declare module 'modules' {
  const Modules: {
    has(specifier: string): boolean;
    importNow(specifier: string): unknown;
  };
  export default Modules;
}
