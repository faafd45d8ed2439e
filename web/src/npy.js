// Minimal reader for NumPy .npy arrays (little-endian float32/float64, C order).
export function parseNpy(buffer) {
  const bytes = new Uint8Array(buffer);
  const magic = String.fromCharCode(...bytes.slice(1, 6));
  if (bytes[0] !== 0x93 || magic !== "NUMPY") throw new Error("not a .npy file");
  const major = bytes[6];
  const view = new DataView(buffer);
  const headerLength = major >= 2 ? view.getUint32(8, true) : view.getUint16(8, true);
  const start = major >= 2 ? 12 : 10;
  const header = new TextDecoder().decode(bytes.slice(start, start + headerLength));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? "";
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  if (fortran) throw new Error(".npy in Fortran order is not supported");
  const offset = start + headerLength;
  const count = shape.reduce((a, b) => a * b, 1);
  let data;
  if (descr === "<f4") data = new Float32Array(buffer.slice(offset, offset + 4 * count));
  else if (descr === "<f8") data = Float32Array.from(new Float64Array(buffer.slice(offset, offset + 8 * count)));
  else throw new Error(`unsupported .npy dtype ${descr}`);
  return { shape, data };
}
