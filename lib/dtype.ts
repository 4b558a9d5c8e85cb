// Data types and the typed arrays that hold them in JavaScript.

export type DType =
  'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool';

export const DTYPES: readonly DType[] = [
  'float32',
  'float64',
  'float16',
  'bfloat16',
  'int8',
  'int16',
  'int32',
  'int64',
  'uint8',
  'bool',
];

/** Bytes per element of each dtype, as stored (torch's element_size()). */
export const ITEM_SIZE: Readonly<Record<DType, number>> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** The typed array a readback of each dtype produces (half types are widened to float32). */
export interface TypedArrayFor {
  float32: Float32Array;
  float64: Float64Array;
  float16: Float32Array;
  bfloat16: Float32Array;
  int8: Int8Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  uint8: Uint8Array;
  bool: Uint8Array;
}

export type AnyTypedArray = TypedArrayFor[DType];

const READBACK: Record<DType, new (buffer: ArrayBuffer) => AnyTypedArray> = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Float32Array,
  bfloat16: Float32Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  uint8: Uint8Array,
  bool: Uint8Array,
};

export function viewAs(dtype: DType, buffer: ArrayBuffer): AnyTypedArray {
  return new READBACK[dtype](buffer);
}

/** The dtype whose memory layout a typed array has. */
export function dtypeOfArray(data: ArrayBufferView): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Uint8Array || data instanceof Uint8ClampedArray) return 'uint8';
  throw new TypeError(
    `unsupported typed array ${data.constructor.name}: use Float32Array, Float64Array, Int8Array, Int16Array, Int32Array, BigInt64Array or Uint8Array`,
  );
}

export function isFloating(dtype: DType): boolean {
  return dtype === 'float32' || dtype === 'float64' || dtype === 'float16' || dtype === 'bfloat16';
}

export function checkDtype(dtype: unknown, argument = 'dtype'): DType {
  if (typeof dtype !== 'string' || !(DTYPES as readonly string[]).includes(dtype)) {
    throw new TypeError(`argument '${argument}' must be one of ${DTYPES.join(', ')}; got ${JSON.stringify(dtype)}`);
  }
  return dtype as DType;
}
