// The build's `config` (manifest "config" objects merged, plus name=value arguments to mcconfig).
declare module 'mc/config' {
  const config: { readonly [name: string]: any };
  export default config;
}
