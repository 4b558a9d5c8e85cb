// One way to configure every method: a named preset (the reference's settings) plus a partial of
// the options, merged deeply (nested objects such as `unmix` and `backbone` keep the preset's
// fields they do not name; arrays and other values replace; undefined means "the preset's").
// Each method then validates the result up front.

/** Options where every nested plain object may be given in part. */
export type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;
}

/** `base` with `partial` merged in (neither is modified). */
export function deepMerge<T>(base: T, partial: DeepPartial<T> | undefined): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(partial ?? {})) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

/** The preset `name` of `presets` with `partial` merged in; an unknown name throws, listing the known ones. */
export function configure<T>(
  owner: string,
  presets: Readonly<Record<string, T>>,
  name: string,
  partial: DeepPartial<NoInfer<T>> | undefined,
): T {
  if (!Object.hasOwn(presets, name))
    throw new Error(`${owner}: unknown preset '${name}' (use ${Object.keys(presets).join(', ')})`);
  return deepMerge(presets[name], partial);
}
