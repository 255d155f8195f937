// `preference`: small persistent values by domain and key (NVS on ESP32: names ≤ 15 characters, values ≤ 4000 bytes).
declare module 'preference' {
  type PreferenceValue = string | number | boolean | ArrayBuffer;
  const Preference: {
    set(domain: string, key: string, value: PreferenceValue): void;
    /** undefined when there is no such preference */
    get(domain: string, key: string): PreferenceValue | undefined;
    /** no error when there is no such preference */
    delete(domain: string, key: string): void;
    keys(domain: string): string[];
  };
  export default Preference;
}
