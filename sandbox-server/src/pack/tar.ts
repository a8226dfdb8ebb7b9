/**
 * Just enough tar for the image pack: write an archive of a few members (a manifest and the
 * `docker save` archives, streamed, any size), list its members, and copy one out. POSIX ustar
 * headers; sizes past 8 GiB in GNU's base-256 form.
 */
import { open } from 'node:fs/promises';

const BLOCK = 512;

export type TarInput = { name: string; data: Buffer } | { name: string; file: string };

export interface TarMember {
  name: string;
  size: number;
  /** byte offset of the member's data in the archive */
  offset: number;
}

export function tarHeader(
  name: string,
  size: number,
  mtime = Math.floor(Date.now() / 1000),
): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar: member name too long: ${name}`);
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100, 'ascii'); // mode
  header.write('0000000\0', 108, 'ascii'); // uid
  header.write('0000000\0', 116, 'ascii'); // gid
  if (size < 8 ** 11) {
    header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
  } else {
    // base-256: high bit set, big-endian in the remaining 11 bytes
    header[124] = 0x80;
    let rest = BigInt(size);
    for (let i = 135; i > 124; i--) {
      header[i] = Number(rest & 0xffn);
      rest >>= 8n;
    }
  }
  header.write(`${mtime.toString(8).padStart(11, '0')}\0`, 136, 'ascii');
  header.write('        ', 148, 'ascii'); // checksum placeholder: spaces
  header.write('0', 156, 'ascii'); // regular file
  header.write('ustar\0', 257, 'ascii');
  header.write('00', 263, 'ascii');
  header.write('root', 265, 'ascii');
  header.write('root', 297, 'ascii');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return header;
}

function readSize(field: Buffer): number {
  if ((field[0]! & 0x80) !== 0) {
    let value = 0n;
    for (let i = 1; i < field.length; i++) value = (value << 8n) | BigInt(field[i]!);
    return Number(value);
  }
  const text = field.toString('ascii').replace(/\0.*$/s, '').trim();
  return text ? Number.parseInt(text, 8) : 0;
}

/** Writes `members` in order to `path` (replacing it). */
export async function writeTar(path: string, members: readonly TarInput[]): Promise<void> {
  const out = await open(path, 'w');
  try {
    let position = 0;
    const write = async (buffer: Buffer) => {
      await out.write(buffer, 0, buffer.length, position);
      position += buffer.length;
    };
    for (const member of members) {
      if ('data' in member) {
        await write(tarHeader(member.name, member.data.length));
        await write(member.data);
        await write(Buffer.alloc(padding(member.data.length)));
        continue;
      }
      const input = await open(member.file, 'r');
      try {
        const { size } = await input.stat();
        await write(tarHeader(member.name, size));
        const chunk = Buffer.alloc(1024 * 1024);
        let copied = 0;
        while (copied < size) {
          const { bytesRead } = await input.read(chunk, 0, chunk.length, copied);
          if (bytesRead === 0) throw new Error(`tar: ${member.file} shrank while being archived`);
          await write(chunk.subarray(0, bytesRead));
          copied += bytesRead;
        }
        await write(Buffer.alloc(padding(size)));
      } finally {
        await input.close();
      }
    }
    await write(Buffer.alloc(BLOCK * 2)); // end of archive
  } finally {
    await out.close();
  }
}

/** The members of the archive at `path`, in order. */
export async function listTar(path: string): Promise<TarMember[]> {
  const input = await open(path, 'r');
  try {
    const { size: total } = await input.stat();
    const members: TarMember[] = [];
    const header = Buffer.alloc(BLOCK);
    let position = 0;
    while (position + BLOCK <= total) {
      const { bytesRead } = await input.read(header, 0, BLOCK, position);
      if (bytesRead < BLOCK || header.every((byte) => byte === 0)) break;
      if (header.toString('ascii', 257, 262) !== 'ustar') {
        throw new Error(`${path} is not a tar archive (no ustar header at byte ${position}).`);
      }
      const name = header.toString('utf8', 0, 100).replace(/\0.*$/s, '');
      const prefix = header.toString('utf8', 345, 500).replace(/\0.*$/s, '');
      const size = readSize(header.subarray(124, 136));
      const type = String.fromCharCode(header[156] || 48);
      if (type === '0' || type === '\0') {
        members.push({ name: prefix ? `${prefix}/${name}` : name, size, offset: position + BLOCK });
      }
      position += BLOCK + size + padding(size);
    }
    return members;
  } finally {
    await input.close();
  }
}

/** One member's content, read whole (for small members such as the manifest). */
export async function readMember(path: string, member: TarMember): Promise<Buffer> {
  const input = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(member.size);
    await input.read(buffer, 0, member.size, member.offset);
    return buffer;
  } finally {
    await input.close();
  }
}

/** Copies one member out to `dest`. */
export async function extractMember(path: string, member: TarMember, dest: string): Promise<void> {
  const input = await open(path, 'r');
  const out = await open(dest, 'w');
  try {
    const chunk = Buffer.alloc(1024 * 1024);
    let copied = 0;
    while (copied < member.size) {
      const want = Math.min(chunk.length, member.size - copied);
      const { bytesRead } = await input.read(chunk, 0, want, member.offset + copied);
      if (bytesRead === 0) throw new Error(`${path} ends inside ${member.name}: truncated?`);
      await out.write(chunk, 0, bytesRead, copied);
      copied += bytesRead;
    }
  } finally {
    await Promise.all([input.close(), out.close()]);
  }
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}
