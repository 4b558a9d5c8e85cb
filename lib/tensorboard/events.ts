// TensorBoard's event files: Event protos (tensorflow/core/util/event.proto, summary.proto; only the
// fields we write) encoded with protobufjs, framed as TFRecords: length (uint64 LE), masked CRC32C of
// the length, data, masked CRC32C of the data.
import * as protobuf from 'protobufjs';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const crc32c = require('crc-32/crc32c') as { buf(data: Uint8Array, seed?: number): number };

const PROTO = `
syntax = "proto3";
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what {
    string file_version = 3;
    Summary summary = 5;
  }
}
message Summary {
  message Image {
    int32 height = 1;
    int32 width = 2;
    int32 colorspace = 3;
    bytes encoded_image_string = 4;
  }
  message Value {
    string tag = 1;
    oneof value {
      float simple_value = 2;
      Image image = 4;
    }
  }
  repeated Value value = 1;
}
`;

const EventType = protobuf.parse(PROTO, { keepCase: true }).root.lookupType('Event');

export interface ScalarValue {
  tag: string;
  simple_value: number;
}

export interface ImageValue {
  tag: string;
  /** PNG bytes; colorspace 3 = RGB */
  image: { height: number; width: number; colorspace: number; encoded_image_string: Uint8Array };
}

export interface EventFields {
  wall_time: number;
  step: number;
  file_version?: string;
  summary?: { value: (ScalarValue | ImageValue)[] };
}

/** One Event as protobuf bytes. */
export function encodeEvent(event: EventFields): Uint8Array {
  return EventType.encode(EventType.fromObject(event)).finish();
}

/** Decodes Event bytes (tests, and reading our own files back). */
export function decodeEvent(bytes: Uint8Array): EventFields {
  return EventType.toObject(EventType.decode(bytes), {
    longs: Number,
    bytes: Buffer,
    defaults: false,
    oneofs: false,
  }) as EventFields;
}

/** The TFRecord checksum: CRC32C rotated right by 15 bits plus a constant (tensorflow/core/lib/hash/crc32c.h). */
export function maskedCrc32c(data: Uint8Array): number {
  const crc = crc32c.buf(data) >>> 0;
  return (((crc >>> 15) | (crc << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord around `data`. */
export function tfRecord(data: Uint8Array): Buffer {
  const header = Buffer.alloc(12);
  header.writeBigUInt64LE(BigInt(data.length), 0);
  header.writeUInt32LE(maskedCrc32c(header.subarray(0, 8)), 8);
  const footer = Buffer.alloc(4);
  footer.writeUInt32LE(maskedCrc32c(data), 0);
  return Buffer.concat([header, data, footer]);
}

/** The records of an event file, checksums verified. */
export function readTfRecords(file: Buffer): Buffer[] {
  const records: Buffer[] = [];
  for (let at = 0; at < file.length;) {
    if (at + 12 > file.length) throw new Error(`TFRecord: truncated header at byte ${at}`);
    const length = Number(file.readBigUInt64LE(at));
    if (file.readUInt32LE(at + 8) !== maskedCrc32c(file.subarray(at, at + 8)))
      throw new Error(`TFRecord: bad length checksum at byte ${at}`);
    const data = file.subarray(at + 12, at + 12 + length);
    if (data.length !== length || at + 16 + length > file.length)
      throw new Error(`TFRecord: truncated record at byte ${at}`);
    if (file.readUInt32LE(at + 12 + length) !== maskedCrc32c(data))
      throw new Error(`TFRecord: bad data checksum at byte ${at}`);
    records.push(data);
    at += 16 + length;
  }
  return records;
}
