// Maps a position in the minified bundle back to the TypeScript source, from esbuild's source map
// (version 3, "mappings" in base64 VLQ), so a rejected construct is reported where it was written.
export interface RawSourceMap {
  sources: string[];
  mappings: string;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Decodes the VLQ numbers of one segment. */
function vlq(seg: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const ch of seg) {
    const d = B64.indexOf(ch);
    if (d < 0) throw new Error(`source map: bad base64 digit "${ch}"`);
    value += (d & 31) << shift;
    if (d & 32) shift += 5;
    else {
      out.push(value & 1 ? -(value >>> 1) : value >>> 1);
      value = 0;
      shift = 0;
    }
  }
  return out;
}

export type Locator = (line: number, column: number) => { source: string; line: number; column: number } | null;

/**
 * A function from generated (line, column), both 1-based, to the original source position (1-based),
 * or null where the map has nothing. `columnShift` is subtracted on line 1 (text added before the
 * esbuild output, e.g. a wrapper).
 */
export function locator(map: RawSourceMap, columnShift = 0): Locator {
  // per generated line: [genCol, src, line, col] sorted by genCol
  const lines: number[][][] = [];
  let src = 0;
  let sl = 0;
  let sc = 0;
  for (const text of map.mappings.split(";")) {
    const segs: number[][] = [];
    let gc = 0;
    for (const s of text.split(",")) {
      if (!s) continue;
      const v = vlq(s);
      gc += v[0];
      if (v.length >= 4) {
        src += v[1];
        sl += v[2];
        sc += v[3];
        segs.push([gc, src, sl, sc]);
      }
    }
    lines.push(segs);
  }
  return (line, column) => {
    const segs = lines[line - 1];
    if (!segs || segs.length === 0) return null;
    const col = column - 1 - (line === 1 ? columnShift : 0);
    let best: number[] | null = null;
    for (const s of segs) {
      if (s[0] <= col) best = s;
      else break;
    }
    if (!best) return null;
    return { source: map.sources[best[1]], line: best[2] + 1, column: best[3] + 1 };
  };
}
