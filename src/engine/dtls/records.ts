// DTLS 1.2 record and handshake headers (RFC 6347 §4.1, §4.2.2), read with every
// length checked. werift reads them without bounds checks and trusts every length it
// finds; nothing reaches it that these readers did not accept.

/** DTLS 1.2 record content types: change_cipher_spec, alert, handshake, application_data. */
export const ContentType = { changeCipherSpec: 20, alert: 21, handshake: 22, applicationData: 23 } as const;
const CONTENT_TYPES: ReadonlySet<number> = new Set(Object.values(ContentType));

export const HandshakeType = { clientHello: 1, helloVerifyRequest: 3 } as const;

export const RECORD_HEADER_LENGTH = 13;
export const HANDSHAKE_HEADER_LENGTH = 12;

export interface DtlsRecord {
  type: number;
  epoch: number;
  /** The 48-bit record sequence number, as its 6 bytes. */
  sequence: Buffer;
  body: Buffer;
}

/** One handshake fragment (RFC 6347 §4.2.2): `body` is fragment_length bytes at fragment_offset of a message of `length` bytes. */
export interface HandshakeFragment {
  msgType: number;
  length: number;
  messageSeq: number;
  offset: number;
  body: Buffer;
}

/**
 * The records of a datagram: a known content type, version 1.0 (0xfeff) or 1.2
 * (0xfefd), and lengths that end exactly at the end of the datagram; undefined otherwise.
 */
export function readRecords(datagram: Buffer): DtlsRecord[] | undefined {
  const records: DtlsRecord[] = [];
  let pos = 0;
  while (pos < datagram.length) {
    if (pos + RECORD_HEADER_LENGTH > datagram.length) return undefined;
    const type = datagram[pos]!;
    if (!CONTENT_TYPES.has(type) || datagram[pos + 1] !== 0xfe || (datagram[pos + 2] !== 0xfd && datagram[pos + 2] !== 0xff)) return undefined;
    const end = pos + RECORD_HEADER_LENGTH + datagram.readUInt16BE(pos + 11);
    if (end > datagram.length) return undefined;
    records.push({
      type,
      epoch: datagram.readUInt16BE(pos + 3),
      sequence: datagram.subarray(pos + 5, pos + 11),
      body: datagram.subarray(pos + RECORD_HEADER_LENGTH, end),
    });
    pos = end;
  }
  return records.length > 0 ? records : undefined;
}

/** The handshake fragments of a plaintext handshake record's body, each within its message; undefined otherwise. */
export function readFragments(body: Buffer): HandshakeFragment[] | undefined {
  const fragments: HandshakeFragment[] = [];
  let pos = 0;
  while (pos < body.length) {
    if (pos + HANDSHAKE_HEADER_LENGTH > body.length) return undefined;
    const length = body.readUIntBE(pos + 1, 3);
    const offset = body.readUIntBE(pos + 6, 3);
    const fragmentLength = body.readUIntBE(pos + 9, 3);
    const end = pos + HANDSHAKE_HEADER_LENGTH + fragmentLength;
    if (end > body.length || offset + fragmentLength > length) return undefined;
    fragments.push({ msgType: body[pos]!, length, messageSeq: body.readUInt16BE(pos + 4), offset, body: body.subarray(pos + HANDSHAKE_HEADER_LENGTH, end) });
    pos = end;
  }
  return fragments.length > 0 ? fragments : undefined;
}

/** A record and the handshake header of the one whole message it carries. */
export function handshakeRecord(version: number, sequence: Buffer, msgType: number, messageSeq: number, message: Buffer): Buffer {
  const record = Buffer.alloc(RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH + message.length);
  record[0] = ContentType.handshake;
  record.writeUInt16BE(version, 1);
  // epoch 0 (bytes 3-4 stay zero)
  sequence.copy(record, 5, 0, 6);
  record.writeUInt16BE(HANDSHAKE_HEADER_LENGTH + message.length, 11);
  record[13] = msgType;
  record.writeUIntBE(message.length, 14, 3);
  record.writeUInt16BE(messageSeq, 17);
  // fragment_offset 0 (bytes 19-21 stay zero)
  record.writeUIntBE(message.length, 22, 3);
  message.copy(record, RECORD_HEADER_LENGTH + HANDSHAKE_HEADER_LENGTH);
  return record;
}
