// A baseline JPEG of one solid colour, for the emulator's profile photos: real image/jpeg bytes any decoder (a browser)
// shows, at the sizes Graph serves, without an image library. Every 8×8 block is the same colour, so a block is its
// DC coefficient (a difference of 0 after the first) and an end-of-block: five bits a component, and a 240×240 photo is
// under 2 kB. Quantization 1 throughout; Huffman tables of our own (JPEG files carry theirs).

/** DC categories 0..11 as 4-bit codes 0000..1011; AC: only end-of-block, the 1-bit code 0. */
const DC_BITS = [0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const DC_VALUES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
const AC_BITS = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const AC_VALUES = [0];

class BitWriter {
  private out: number[] = [];
  private acc = 0;
  private n = 0;
  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }
  private flushByte(): void {
    this.out.push(this.acc);
    if (this.acc === 0xff) this.out.push(0x00); // byte stuffing
    this.acc = 0;
    this.n = 0;
  }
  end(): number[] {
    while (this.n !== 0) this.write(1, 1); // pad with 1-bits
    return this.out;
  }
}

function segment(marker: number, payload: number[]): number[] {
  const len = payload.length + 2;
  return [0xff, marker, len >> 8, len & 0xff, ...payload];
}

/** The DC coefficient of a uniform block of `value` (0..255): 8 × (value − 128) with quantization 1. */
function dcOf(value: number): number {
  return 8 * (Math.round(Math.min(255, Math.max(0, value))) - 128);
}

function writeDc(w: BitWriter, diff: number): void {
  const magnitude = Math.abs(diff);
  const category = magnitude === 0 ? 0 : Math.floor(Math.log2(magnitude)) + 1;
  w.write(category, 4);
  if (category > 0) w.write(diff > 0 ? diff : diff + (1 << category) - 1, category);
}

/** A `width`×`height` JPEG (YCbCr, no subsampling) of the colour `rgb`. */
export function solidJpeg(width: number, height: number, rgb: [number, number, number]): Buffer {
  const [r, g, b] = rgb;
  const components = [
    0.299 * r + 0.587 * g + 0.114 * b,
    128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
    128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
  ].map(dcOf);
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const w = new BitWriter();
  for (let i = 0; i < blocks; i++) {
    for (const dc of components) {
      writeDc(w, i === 0 ? dc : 0);
      w.write(0, 1); // end of block
    }
  }
  const jfif = [0x4a, 0x46, 0x49, 0x46, 0x00, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const sof = [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0];
  const dht = [0x00, ...DC_BITS, ...DC_VALUES, 0x10, ...AC_BITS, ...AC_VALUES];
  const sos = [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0];
  return Buffer.from([
    0xff, 0xd8,
    ...segment(0xe0, jfif),
    ...segment(0xdb, [0, ...new Array<number>(64).fill(1)]),
    ...segment(0xc0, sof),
    ...segment(0xc4, dht),
    ...segment(0xda, sos),
    ...w.end(),
    0xff, 0xd9,
  ]);
}
